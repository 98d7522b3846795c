//! The chart and view builders: well-formed SVG (parsed as XML), escaped
//! text, points inside the plot, log-scale ticks, skipped non-finite values,
//! and result views that render real reports.

use sharpening_lab::ui::bar_chart::{BarChart, BarRow};
use sharpening_lab::ui::line_chart::{LineChart, Series};
use sharpening_lab::ui::svg::{fmt_num, nice_ticks, BLUE, ORANGE};

fn parse(svg: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not well-formed XML ({e}): {svg}"))
}

fn line_chart(series: Vec<Series>, log2_x: bool) -> LineChart {
    LineChart {
        id: "c".into(),
        title: "Accuracy <&> \"N\"".into(),
        x_label: "N".into(),
        y_label: "accuracy".into(),
        log2_x,
        log2_y: false,
        y_range: Some((0.0, 1.0)),
        series,
        stamp: "sharpening-lab test · seed 0 · a long stamp that must wrap onto more than one line because it is long, really quite long indeed".into(),
    }
}

#[test]
fn line_chart_is_valid_svg_with_points_in_the_plot() {
    let s = Series { name: "loglik <best>".into(), points: vec![(1.0, 0.4), (4.0, 0.8), (16.0, 0.85), (64.0, 0.85)], color: BLUE, dash: None, markers: true };
    let t = Series { name: "gap".into(), points: vec![(1.0, 0.1), (4.0, f64::NAN), (16.0, 0.3), (64.0, f64::INFINITY)], color: ORANGE, dash: Some("4 2"), markers: true };
    let svg = line_chart(vec![s, t], true).render();
    let doc = parse(&svg);
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let title = root.children().find(|n| n.has_tag_name("title")).unwrap();
    assert_eq!(title.text(), Some("Accuracy <&> \"N\""), "text is escaped and reads back");
    let circles: Vec<(f64, f64)> = root
        .descendants()
        .filter(|n| n.has_tag_name("circle"))
        .map(|n| (n.attribute("cx").unwrap().parse().unwrap(), n.attribute("cy").unwrap().parse().unwrap()))
        .collect();
    assert_eq!(circles.len(), 6, "non-finite points are skipped");
    let w: f64 = root.attribute("width").unwrap().parse().unwrap();
    for (x, y) in &circles {
        assert!(*x > 50.0 && *x < w && *y > 30.0 && *y < 240.0, "point ({x}, {y}) outside the plot");
    }
    // Log2 axis: N = 1, 4, 16, 64 are equally spaced.
    let xs: Vec<f64> = circles[..4].iter().map(|c| c.0).collect();
    let gaps: Vec<f64> = xs.windows(2).map(|p| p[1] - p[0]).collect();
    assert!(gaps.iter().all(|g| (g - gaps[0]).abs() < 0.2), "{xs:?}");
    // y = 0.85 lies higher (smaller y) than y = 0.4.
    assert!(circles[2].1 < circles[0].1);
    // The broken series is drawn as separate pieces.
    let paths: Vec<&str> = root.descendants().filter(|n| n.has_tag_name("path")).map(|n| n.attribute("d").unwrap()).collect();
    assert_eq!(paths[1].matches('M').count(), 2, "{}", paths[1]);
    let ticks: Vec<&str> = root.descendants().filter(|n| n.has_tag_name("text")).filter_map(|n| n.text()).collect();
    for t in ["1", "2", "4", "8", "16", "32", "64", "N (log scale)"] {
        assert!(ticks.contains(&t), "missing tick label {t}: {ticks:?}");
    }
    let footer_lines = ticks.iter().filter(|t| t.contains("sharpening-lab") || t.contains("long")).count();
    assert!(footer_lines >= 2, "the stamp wraps: {ticks:?}");
}

#[test]
fn empty_and_degenerate_charts_still_render() {
    for series in [vec![], vec![Series { name: "one".into(), points: vec![(3.0, 0.5)], color: BLUE, dash: None, markers: true }]] {
        for log in [false, true] {
            parse(&line_chart(series.clone(), log).render());
        }
    }
    let b = BarChart { id: "b".into(), title: "t".into(), x_label: "p".into(), series: vec![], rows: vec![], x_max: None, note: String::new(), stamp: String::new() };
    parse(&b.render());
}

#[test]
fn bar_chart_marks_rows_in_text_and_scales_bars() {
    let rows = vec![
        BarRow { label: "46".into(), values: vec![0.6, 0.5], tag: "y* · right".into(), strong: true },
        BarRow { label: "<36>".into(), values: vec![0.3, f64::NAN], tag: "wrong".into(), strong: false },
    ];
    let b = BarChart { id: "b".into(), title: "Answers".into(), x_label: "probability".into(), series: vec![("exact".into(), BLUE), ("sampled".into(), ORANGE)], rows, x_max: Some(1.0), note: "leftover 1e-6".into(), stamp: "stamp".into() };
    let svg = b.render();
    let doc = parse(&svg);
    let texts: Vec<&str> = doc.descendants().filter(|n| n.has_tag_name("text")).filter_map(|n| n.text()).collect();
    for t in ["46", "<36>", "y* · right", "wrong", "exact", "sampled", "leftover 1e-6", "stamp"] {
        assert!(texts.contains(&t), "missing {t}: {texts:?}");
    }
    let widths: Vec<f64> = doc.descendants().filter(|n| n.has_tag_name("rect") && n.attribute("height") == Some("9")).map(|n| n.attribute("width").unwrap().parse().unwrap()).collect();
    assert_eq!(widths.len(), 6, "2 legend swatches + 4 bars");
    let bars = &widths[2..];
    assert!((bars[0] / bars[2] - 2.0).abs() < 0.01, "0.6 vs 0.3 -> twice as long: {bars:?}");
    assert_eq!(bars[3], 0.0, "NaN draws nothing");
}

#[test]
fn ticks_and_numbers() {
    assert_eq!(nice_ticks(0.0, 1.0, 5), vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]);
    assert_eq!(nice_ticks(0.0, 200.0, 4), vec![0.0, 50.0, 100.0, 150.0, 200.0]);
    assert_eq!(fmt_num(0.6000000000000001), "0.6");
    assert_eq!(fmt_num(64.0), "64");
    assert_eq!(fmt_num(-2.345), "-2.35");
    assert_eq!(fmt_num(0.0012345), "0.00123");
    assert_eq!(nice_ticks(f64::NAN, 1.0, 5).len(), 1);
}

/// The result views on real runs of the built-in model: well-formed, with the
/// numbers and captions a student needs.
#[test]
fn views_render_real_reports() {
    use sharpening_lab::app::protocol::{FromWorker, Job, Outcome};
    use sharpening_lab::app::{jobs, session};
    use sharpening_lab::ui::params::UiState;
    use sharpening_lab::ui::{view_bon, view_complexity, view_coverage, view_margin, view_efficiency, view_explore, view_training, view_theory};
    let f = sharpening_lab::builtin::files("add").unwrap();
    let s = session::load("add", f.config, f.weights, f.tokenizer, 0.0).unwrap();
    let (ui, _) = UiState::from_hash("#n=1,4&prompts=8&sft_prompts=8&steps=4&eval_every=2&prompt=19%2B23%3D");
    let clock = || 0.0;
    let mut streamed = Vec::new();
    let FromWorker::Done { outcome, exports, .. } = jobs::run_on_cpu(&s, Job::Explore(ui.explore_params(5)), &mut |_| {}, &clock) else { panic!() };
    let Outcome::Explore(report) = *outcome else { panic!() };
    let html = view_explore::explore_html(&report, &exports.stamp);
    parse(&format!("<div>{html}</div>"));
    assert!(html.contains("19+23=") && html.contains("picked by") && html.contains("exact"));
    let FromWorker::Done { outcome, exports, .. } = jobs::run_on_cpu(&s, Job::Bon(ui.bon_params(5)), &mut |_| {}, &clock) else { panic!() };
    let Outcome::Bon(report) = *outcome else { panic!() };
    let html = view_bon::bon_html(&report, &exports.stamp);
    parse(&format!("<div>{html}</div>"));
    assert!(html.contains("theory") && html.contains("pass@N") && html.contains("greedy"));
    let job = Job::Sft { params: ui.sft_params(5), watch: String::new() };
    let FromWorker::Done { outcome, exports, .. } = jobs::run_on_cpu(&s, job, &mut |m| streamed.push(m), &clock) else { panic!() };
    let Outcome::Sft(report) = *outcome else { panic!() };
    let steps: Vec<_> = streamed.iter().filter_map(|m| if let FromWorker::TrainEval { step, .. } = m { Some(step.clone()) } else { None }).collect();
    let watched: Vec<_> = streamed.iter().filter_map(|m| if let FromWorker::TrainEval { watched, .. } = m { watched.clone() } else { None }).collect();
    assert_eq!(steps.len(), 3, "evaluations at steps 0, 2, 4 are streamed");
    assert_eq!(watched.len(), 3);
    let v = view_training::TrainingView {
        steps: &steps, kl_closed_form: &[], watched: &watched, shown: 2, playing: false, total_steps: 4, target: sharpening_lab::sharpen::eval::Target { delta: 0.1, gamma: 0.0 },
        summary: Some("done".into()), wrong_mode: Some(&report.wrong_mode), stamp: &exports.stamp,
    };
    let html = view_training::training_html(&v);
    parse(&format!("<div>{html}</div>"));
    assert!(html.contains("KL(pi || pi_base)") && html.contains("Amplified errors") && html.contains("base vs step 4"));
    assert!(!html.contains("closed form"));
    // RLHF: the same view with the closed form.
    let (ui, _) = UiState::from_hash("#view=rlhf&rlhf_prompts=6&rlhf_steps=4&pairs=4&eval_every=2");
    let mut streamed = Vec::new();
    let job = Job::Rlhf { params: ui.rlhf_params(5), watch: String::new() };
    let FromWorker::Done { outcome, exports, .. } = jobs::run_on_cpu(&s, job, &mut |m| streamed.push(m), &clock) else { panic!() };
    let Outcome::Rlhf(report) = *outcome else { panic!() };
    let mut steps = vec![];
    let (mut kls, mut watched) = (vec![], vec![]);
    for m in streamed {
        if let FromWorker::TrainEval { step, kl_to_closed_form, watched: w, .. } = m {
            steps.push(step);
            kls.push(kl_to_closed_form.unwrap());
            watched.push(w.unwrap());
        }
    }
    assert_eq!(steps.len(), 3);
    assert!(!watched[0].closed_form.is_empty());
    let v = view_training::TrainingView { steps: &steps, kl_closed_form: &kls, watched: &watched, shown: 1, playing: false, total_steps: 4, target: sharpening_lab::sharpen::eval::Target { delta: 0.1, gamma: 0.2 }, summary: None, wrong_mode: Some(&report.wrong_mode), stamp: &exports.stamp };
    let html = view_training::training_html(&v);
    parse(&format!("<div>{html}</div>"));
    assert!(html.contains("KL(pi || pi*_beta), closed form") && html.contains("closed form pi*"));
    // Theory and efficiency views.
    let (ui, _) = UiState::from_hash("#view=theory&prompt=11%2B49%3D&gap_prompts=10");
    let FromWorker::Done { outcome, exports, .. } = jobs::run_on_cpu(&s, Job::Theory(ui.theory_params()), &mut |_| {}, &clock) else { panic!() };
    let Outcome::Theory { closed, gap } = *outcome else { panic!() };
    let html = view_theory::theory_html(&closed, &gap, &exports.stamp);
    parse(&format!("<div>{html}</div>"));
    assert!(html.contains("sequence vs token temperature") && html.contains("verifier") && html.contains("misses y*"));
    let (ui, _) = UiState::from_hash("#view=efficiency&eff_prompts=4&sft_ns=1,4&eff_sft_steps=3&eff_rlhf_steps=4");
    let FromWorker::Done { outcome, exports, .. } = jobs::run_on_cpu(&s, Job::Efficiency(ui.efficiency_params()), &mut |_| {}, &clock) else { panic!() };
    let Outcome::Efficiency(report) = *outcome else { panic!() };
    assert_eq!(report.sft.len(), 2);
    let html = view_efficiency::efficiency_html(&report, &exports.stamp);
    parse(&format!("<div>{html}</div>"));
    assert!(html.contains("samples from pi_base") && html.contains("C_cov"));
    let (ui, _) = UiState::from_hash("#view=complexity&cx_prompts=8&cx_eps=0.1,0.3&cx_delta=0.1,0.3&cx_sft_ns=1,4&cx_sft_prompts=8&cx_steps=4");
    let FromWorker::Done { outcome, exports, .. } = jobs::run_on_cpu(&s, Job::Complexity(ui.complexity_params()), &mut |_| {}, &clock) else { panic!() };
    let Outcome::Complexity(report) = *outcome else { panic!() };
    let html = view_complexity::complexity_html(&report, &exports.stamp);
    parse(&format!("<div>{html}</div>"));
    assert!(html.contains("against delta") && html.contains("against eps") && html.contains("Thm 4.1") && html.contains("(log scale)"));
    assert!(html.contains("best-of-N (exact)") && html.contains("(measured)") && html.contains("(bound)"));
    let (ui, _) = UiState::from_hash("#view=margin&margin_prompts=8&margin_betas=0.1,1&margin_train_betas=1&margin_steps=2");
    let FromWorker::Done { outcome, exports, .. } = jobs::run_on_cpu(&s, Job::Margin(ui.margin_params()), &mut |_| {}, &clock) else { panic!() };
    let Outcome::Margin(report) = *outcome else { panic!() };
    let html = view_margin::margin_html(&report, &exports.stamp);
    parse(&format!("<div>{html}</div>"));
    assert!(html.contains("The closed form against beta") && html.contains("Margin against the beta it needs") && html.contains("Why beta = 1 sharpens"));
    assert!(html.contains("RLHF-Sharpening trained") && !html.contains("NaN"));
    let (ui, _) = UiState::from_hash("#view=coverage&cov_d=6&cov_budgets=8,32&cov_sft_ns=1,4&cov_alphas=0,0.01");
    let FromWorker::Done { outcome, exports, .. } = jobs::run_on_cpu(&s, Job::Coverage(ui.coverage_params()), &mut |_| {}, &clock) else { panic!() };
    let Outcome::Coverage(report) = *outcome else { panic!() };
    let html = view_coverage::coverage_html(&report, &exports.stamp);
    parse(&format!("<div>{html}</div>"));
    assert!(html.contains("Coverage: SFT-Sharpening and offline RLHF") && html.contains("Exploration: Alg. 1") && html.contains("C_cov"));
    assert!(html.contains("Alg. 1, alpha = 0.01") && html.contains("sharpened from") && !html.contains("NaN"));
}

#[test]
fn lora_view_renders_its_report() {
    use sharpening_lab::sharpen::lora_sft::{Amortisation, Ceiling, LoraEval, LoraReport, LoraStep};
    let e = |acc, lp: Option<f64>| LoraEval {
        sample_accuracy: acc,
        sample_accuracy_ci: [acc / 2.0, (acc + 1.0) / 2.0],
        samples: 12,
        greedy_accuracy: 0.25,
        sample_logp: -7.5,
        cut_off: 0.125,
        dataset_logp: lp,
    };
    let c = Ceiling { accuracy: 0.625, ci: [0.3, 0.85], prompts: 3, n: 8, cut_off: 0.25 };
    let r = LoraReport {
        dataset_size: 2,
        dataset_accuracy: 0.5,
        adapter_params: 1234,
        adapted_layers: [20, 30],
        train: Amortisation { prompts: 3, before: e(0.1, Some(-40.0)), after: e(0.4, Some(-12.5)), bon_ceiling: c.clone() },
        eval: Amortisation { prompts: 3, before: e(0.15, None), after: e(0.35, None), bon_ceiling: c },
        steps: (1..=3).map(|s| LoraStep { step: s, loss: 1.0 / s as f64, grad_norm: 0.5, ms: 900.0 + s as f64 * 100.0 }).collect(),
        mean_step_ms: 1100.0,
        frozen_ms: 50.0,
    };
    let html = sharpening_lab::ui::view_lora::lora_html(&r, "stamp <x>");
    assert!(html.contains("1234 adapter weights") && html.contains("-40.000") && html.contains("-12.500"), "{html}");
    assert!(html.contains("blocks 20–29") && html.contains("held out, base best-of-8") && html.contains("0.625"), "{html}");
    assert!(html.contains("1.0-1.2 s each") && html.contains("stamp &lt;x&gt;"), "{html}");
    let svg = &html[html.find("<svg").unwrap()..html.find("</svg>").unwrap() + 6];
    parse(svg);
}
