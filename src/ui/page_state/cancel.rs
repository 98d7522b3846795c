//! Cancel: what the button stops and what the page says then.

use super::{Effect, Part, PageState, Status};
use crate::ui::params::Key;

impl PageState {
    /// Whether Cancel can stop something now: a job, or the loading of a
    /// real model (a download that stalls must not hold the page).
    pub fn can_cancel(&self) -> bool {
        self.running.is_some() || (self.status == Status::Loading && self.wants_real_model())
    }

    /// Stops a running job at once: the worker is terminated and a fresh
    /// one loads the model again; the results so far stay. While a real
    /// model loads, stops the load: the fresh worker loads the task's
    /// built-in model instead (the model URL and file are let go).
    pub(super) fn cancel(&mut self, fx: &mut Vec<Effect>) {
        if !self.can_cancel() {
            return;
        }
        let Some(running) = self.running else {
            (self.has_file, self.error) = (false, None);
            self.ui.set(Key::Model, "");
            fx.extend([Effect::ShowValue(Key::Model, String::new()), Effect::WriteHash]);
            self.restart(fx);
            self.notices = vec!["Loading the model was cancelled; nothing of it was kept. Give another model, or choose a task with a built-in model (add, mul, lock, echo).".into()];
            return fx.push(Effect::Render(Part::All));
        };
        let at = self.progress.as_ref().map_or(String::new(), |(d, t, u)| format!(" after {d} / {t} {u}"));
        let finished = self.results.has(running);
        if let Some(live) = self.results.live_mut(running) {
            live.cancelled = !finished;
        }
        self.running = None;
        self.progress = None;
        self.restart(fx);
        self.status = Status::Loading;
        self.notices = vec![format!("Cancelled{at}. The model is reloading; results so far stay on screen.")];
        fx.push(Effect::Render(Part::All));
    }
}
