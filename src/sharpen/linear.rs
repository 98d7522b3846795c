//! Example J.1 of arXiv 2412.01951: linear-softmax policy classes (Def. J.3)
//! on which `C_cov` is exponential in the length `d` of the answer, so
//! sharpening through coverage (SFT-Sharpening, Thm 3.1 / 4.1) needs
//! exponentially many samples, while XPO (Alg. 1) needs poly(d) (Thm J.3).
//!
//! One prompt; answers are `d` binary tokens (`2^d` sequences, enumerable);
//! the class is `pi_theta(y) ∝ exp(<theta, phi(y)>)` (`pi_zero` uniform),
//! `||theta||_2 <= B`, and the base model is `pi_base = pi_{theta*}`; `y*` =
//! all `+` (by symmetry, no loss of generality). Two feature maps:
//!
//! * **cube** (Example J.1 as stated): `phi(y) = y` with tokens `+-1/sqrt(d)`,
//!   `theta* = y*`. `Y` is a `2/sqrt(d)`-packing of the unit sphere (a
//!   1/4-packing for `d <= 64`) of size `exp(Theta(d))`;
//!   `pi_base(y*)/pi_base(y) = exp(2h/d)` at Hamming distance `h`, so the
//!   margin is `exp(2/d) - 1` and `C_cov = prod_i (1 + exp(-2/d))`, about
//!   `2^d / e`. The class factorises over tokens.
//! * **lock** (the structure the theory is about: `y*` reachable step by
//!   step, rare under `pi_base`): `phi(y) = e_k`, the one-hot vector of `k`,
//!   the number of leading tokens `y` shares with `y*` (`d + 1` features,
//!   `||phi|| = 1`), `theta*_k = k / d`. A base sample reaches depth `k` with
//!   probability about `2^-k`, so pairs from `pi_base` only show the first
//!   few coordinates of `theta`; a policy that has learned them reaches
//!   further, and its own samples show the next ones.
//!
//! Every response of the same feature vector has the same probability, so
//! the distribution is carried by its feature types with their counts
//! (`2^d` types for cube, `d + 1` for lock): `pi(y*)`, `log Z`, `E_pi[phi]`,
//! KL and the objective `J_beta` are exact sums over types. A dataset of
//! pairs enters the Eq. 8 loss only through `M = sum (phi(y) - phi(y'))(...)^T`
//! (`log Z` cancels in `log pi(y) - log pi(y')`).

use serde::{Deserialize, Serialize};

use crate::error::{param_err, Result};
use crate::rng::{LinearSide, Rng, Stream};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Structure {
    Cube,
    Lock,
}

impl Structure {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "cube" => Ok(Structure::Cube),
            "lock" => Ok(Structure::Lock),
            _ => param_err(format!("structure {s:?}: cube (Example J.1 as stated) or lock (prefix features)")),
        }
    }
}

/// A response, as the index of its feature type.
pub type Response = usize;

/// The class: the feature types of the `2^d` answers, their counts, `B`.
#[derive(Clone, Debug)]
pub struct LinearClass {
    pub structure: Structure,
    pub d: usize,
    pub b: f64,
    /// `phi` of each type.
    pub phi: Vec<Vec<f64>>,
    /// `log` of the number of answers of each type.
    pub log_count: Vec<f64>,
    /// The type of `y*` (one answer).
    pub star: usize,
    theta_base: Vec<f64>,
}

impl LinearClass {
    pub fn new(structure: Structure, d: usize, b: f64) -> Result<Self> {
        if !(2..=12).contains(&d) {
            return param_err("d (answer length) must be in 2..=12");
        }
        if !(b.is_finite() && b > 1.0) {
            return param_err("B (the norm bound) must be above 1");
        }
        let s = 1.0 / (d as f64).sqrt();
        Ok(match structure {
            Structure::Cube => {
                // Type = the answer itself, bit i set = token i is +; y* = all +.
                let phi = (0..1usize << d).map(|t| (0..d).map(|i| if t >> i & 1 == 1 { s } else { -s }).collect()).collect();
                Self { structure, d, b, phi, log_count: vec![0.0; 1 << d], star: (1 << d) - 1, theta_base: vec![s; d] }
            }
            Structure::Lock => {
                // Type k = k leading tokens shared with y*: 2^(d-k-1) answers for k < d, one for k = d.
                let phi = (0..=d).map(|k| (0..=d).map(|j| if j == k { 1.0 } else { 0.0 }).collect()).collect();
                let log_count = (0..=d).map(|k| if k == d { 0.0 } else { (d - k - 1) as f64 * std::f64::consts::LN_2 }).collect();
                Self { structure, d, b, phi, log_count, star: d, theta_base: (0..=d).map(|k| k as f64 / d as f64).collect() }
            }
        })
    }

    pub fn dims(&self) -> usize {
        self.theta_base.len()
    }

    /// `theta*` of the base model.
    pub fn theta_base(&self) -> Vec<f64> {
        self.theta_base.clone()
    }

    /// Unnormalised log-probability of each type's answers, one answer each.
    fn scores(&self, theta: &[f64]) -> Vec<f64> {
        self.phi.iter().map(|f| dot(theta, f)).collect()
    }

    /// `log Z(theta) = log sum_y exp(<theta, phi(y)>)` over all `2^d` answers.
    pub fn log_z(&self, theta: &[f64]) -> f64 {
        let v: Vec<f64> = self.scores(theta).iter().zip(&self.log_count).map(|(a, c)| a + c).collect();
        let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
    }

    /// Probability of each type (all its answers together).
    pub fn type_probs(&self, theta: &[f64]) -> Vec<f64> {
        let lz = self.log_z(theta);
        self.scores(theta).iter().zip(&self.log_count).map(|(a, c)| (a + c - lz).exp()).collect()
    }

    /// `log pi_theta(y)` of one answer of type `y`.
    pub fn logp(&self, theta: &[f64], y: Response) -> f64 {
        dot(theta, &self.phi[y]) - self.log_z(theta)
    }

    /// `E_theta[phi(y)]`.
    pub fn mean(&self, theta: &[f64]) -> Vec<f64> {
        let p = self.type_probs(theta);
        (0..self.dims()).map(|i| p.iter().zip(&self.phi).map(|(q, f)| q * f[i]).sum()).collect()
    }

    /// `pi_theta(y*)` (exact).
    pub fn p_star(&self, theta: &[f64]) -> f64 {
        self.logp(theta, self.star).exp()
    }

    /// `KL(pi_theta || pi_phi) = <theta - phi, E_theta phi> - log Z(theta) + log Z(phi)`.
    pub fn kl(&self, theta: &[f64], other: &[f64]) -> f64 {
        let diff: Vec<f64> = theta.iter().zip(other).map(|(a, b)| a - b).collect();
        dot(&diff, &self.mean(theta)) - self.log_z(theta) + self.log_z(other)
    }

    /// The sharpening objective `J_beta(pi) = E_pi[log pi_base] - beta KL(pi || pi_base)`
    /// (Alg. 1 returns the round that maximises it).
    pub fn objective(&self, theta: &[f64], beta: f64) -> f64 {
        let base = self.theta_base();
        dot(&base, &self.mean(theta)) - self.log_z(&base) - beta * self.kl(theta, &base)
    }

    /// One answer drawn from `pi_theta` (its type).
    pub fn sample(&self, theta: &[f64], rng: &mut Rng) -> Response {
        let p = self.type_probs(theta);
        let u = rng.uniform();
        let mut acc = 0.0;
        for (t, q) in p.iter().enumerate() {
            acc += q;
            if u < acc {
                return t;
            }
        }
        p.len() - 1
    }

    /// Draw `draw` of run `run`, from the policy or the base model (its own stream).
    pub fn draw(&self, theta: &[f64], seed: u64, run: u64, draw: u64, side: LinearSide) -> Result<Response> {
        Ok(self.sample(theta, &mut Rng::new(seed, Stream::Linear { run, draw, side })?))
    }

    /// `theta` scaled back into the ball `||theta|| <= B`.
    pub fn project(&self, theta: &mut [f64]) {
        let n = dot(theta, theta).sqrt();
        if n > self.b {
            theta.iter_mut().for_each(|t| *t *= self.b / n);
        }
    }

    /// `1 / pi_base(y*)` (Eq. 6; one prompt).
    pub fn c_cov(&self) -> f64 {
        1.0 / self.p_star(&self.theta_base())
    }

    /// Assumption 4.2's margin: `pi_base(y*) / max_{y != y*} pi_base(y) - 1`.
    pub fn margin(&self) -> f64 {
        let s = self.scores(&self.theta_base());
        let runner = (0..s.len()).filter(|&t| t != self.star).map(|t| s[t]).fold(f64::NEG_INFINITY, f64::max);
        (s[self.star] - runner).exp() - 1.0
    }

    /// The SHA-256 of the base model as weights: `theta*` (f64, little
    /// endian) after the structure's name and `d` (the reports' weight hash).
    pub fn weights_sha256(&self) -> String {
        let mut bytes = format!("{:?} {}", self.structure, self.d).into_bytes();
        self.theta_base.iter().for_each(|t| bytes.extend(t.to_le_bytes()));
        crate::model::bundle::sha256_hex(&bytes)
    }

    /// The closed form `pi*_beta ∝ pi_base^(1+1/beta)` is `pi_{(1+1/beta) theta*}`
    /// (in the class when its norm is at most `B`).
    pub fn closed_form(&self, beta: f64) -> Vec<f64> {
        self.theta_base.iter().map(|t| t * (1.0 + 1.0 / beta)).collect()
    }
}

pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Adam on `theta` inside the ball, `steps` steps of a loss whose gradient
/// `grad` returns, learning rate `lr` decaying linearly to a tenth.
pub fn adam(class: &LinearClass, theta: &mut [f64], steps: usize, lr: f64, grad: &dyn Fn(&[f64]) -> Vec<f64>) {
    let (b1, b2, eps) = (0.9, 0.999, 1e-12);
    let (mut m, mut v) = (vec![0.0; theta.len()], vec![0.0; theta.len()]);
    for t in 1..=steps {
        let g = grad(theta);
        let rate = lr * (1.0 - 0.9 * (t - 1) as f64 / steps.max(1) as f64);
        for i in 0..theta.len() {
            m[i] = b1 * m[i] + (1.0 - b1) * g[i];
            v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
            let mh = m[i] / (1.0 - b1.powi(t as i32));
            let vh = v[i] / (1.0 - b2.powi(t as i32));
            theta[i] -= rate * mh / (vh.sqrt() + eps);
        }
        class.project(theta);
    }
}

/// The triples of Alg. 1 (or the pairs of Eq. 8) as the loss sees them:
/// `M = sum (y - y')(y - y')^T`, the number of triples and `sum y'`.
#[derive(Clone, Debug)]
pub struct PairStats {
    pub m: Vec<Vec<f64>>,
    pub count: usize,
    pub sum_base: Vec<f64>,
}

impl PairStats {
    pub fn new(d: usize) -> Self {
        Self { m: vec![vec![0.0; d]; d], count: 0, sum_base: vec![0.0; d] }
    }

    pub fn add(&mut self, class: &LinearClass, y: Response, y_base: Response) {
        let (a, b) = (&class.phi[y], &class.phi[y_base]);
        let diff: Vec<f64> = a.iter().zip(b).map(|(p, q)| p - q).collect();
        for (i, row) in self.m.iter_mut().enumerate() {
            for (j, x) in row.iter_mut().enumerate() {
                *x += diff[i] * diff[j];
            }
        }
        self.count += 1;
        self.sum_base.iter_mut().zip(b).for_each(|(s, x)| *s += x);
    }

    fn m_times(&self, v: &[f64]) -> Vec<f64> {
        self.m.iter().map(|row| dot(row, v)).collect()
    }

    /// Alg. 1's objective over the triples: `alpha sum log pi(y') + sum (beta
    /// log pi(y)/pi_base(y) - beta log pi(y')/pi_base(y') - (r(y) - r(y')))^2`
    /// with `r = log pi_base`; each residual is `<beta (theta - theta*) -
    /// theta*, y - y'>`.
    pub fn loss(&self, class: &LinearClass, theta: &[f64], beta: f64, alpha: f64) -> f64 {
        let w = residual_direction(class, theta, beta);
        dot(&w, &self.m_times(&w)) + alpha * (dot(theta, &self.sum_base) - self.count as f64 * class.log_z(theta))
    }

    /// Its gradient in `theta`.
    pub fn grad(&self, class: &LinearClass, theta: &[f64], beta: f64, alpha: f64) -> Vec<f64> {
        let w = residual_direction(class, theta, beta);
        let mw = self.m_times(&w);
        let mean = class.mean(theta);
        (0..theta.len()).map(|i| 2.0 * beta * mw[i] + alpha * (self.sum_base[i] - self.count as f64 * mean[i])).collect()
    }
}

/// `beta (theta - theta*) - theta*`: the residual of a pair is its inner
/// product with `y - y'`.
fn residual_direction(class: &LinearClass, theta: &[f64], beta: f64) -> Vec<f64> {
    theta.iter().zip(class.theta_base()).map(|(t, s)| beta * (t - s) - s).collect()
}
