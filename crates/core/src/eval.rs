//! Evaluating a score against outcomes: the area under the ROC curve, a bootstrap interval,
//! and a small logistic regression to learn weights on earlier years. Deterministic (a fixed
//! seed), so a run can be repeated exactly.

/// AUC: the chance that a random positive scores above a random negative (ties count half),
/// by ranks (Mann-Whitney U). None when either class is missing.
pub fn auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let n = scores.len();
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| {
        scores[a]
            .partial_cmp(&scores[b])
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut ranks = vec![0.0; n];
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for k in i..=j {
            ranks[idx[k]] = avg;
        }
        i = j + 1;
    }
    let pos = labels.iter().filter(|l| **l).count() as f64;
    let neg = n as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return None;
    }
    let rank_sum: f64 = ranks
        .iter()
        .zip(labels)
        .filter(|(_, l)| **l)
        .map(|(r, _)| r)
        .sum();
    Some((rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg))
}

/// A small deterministic random source (xorshift64*), for resampling.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// A percentile bootstrap 95% interval for the AUC, resampling rows with replacement.
pub fn auc_interval(
    scores: &[f64],
    labels: &[bool],
    resamples: usize,
    seed: u64,
) -> Option<(f64, f64)> {
    let n = scores.len();
    let mut rng = Rng::new(seed);
    let mut values = Vec::with_capacity(resamples);
    let (mut s, mut l) = (vec![0.0; n], vec![false; n]);
    for _ in 0..resamples {
        for k in 0..n {
            let i = rng.below(n);
            s[k] = scores[i];
            l[k] = labels[i];
        }
        if let Some(a) = auc(&s, &l) {
            values.push(a);
        }
    }
    if values.is_empty() {
        return None;
    }
    values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let at =
        |p: f64| values[((p * (values.len() - 1) as f64).round() as usize).min(values.len() - 1)];
    Some((at(0.025), at(0.975)))
}

/// Logistic regression by batch gradient descent on standardised features, with a little L2
/// regularisation. Returns a scorer (higher = more likely positive).
pub struct Logistic {
    mean: Vec<f64>,
    sd: Vec<f64>,
    w: Vec<f64>,
    b: f64,
}

impl Logistic {
    pub fn fit(x: &[Vec<f64>], y: &[bool], iterations: usize) -> Logistic {
        let d = x.first().map(|r| r.len()).unwrap_or(0);
        let n = x.len().max(1) as f64;
        let mut mean = vec![0.0; d];
        let mut sd = vec![0.0; d];
        for r in x {
            for j in 0..d {
                mean[j] += r[j] / n;
            }
        }
        for r in x {
            for j in 0..d {
                sd[j] += (r[j] - mean[j]).powi(2) / n;
            }
        }
        for v in sd.iter_mut() {
            *v = v.sqrt().max(1e-9);
        }
        let z: Vec<Vec<f64>> = x
            .iter()
            .map(|r| (0..d).map(|j| (r[j] - mean[j]) / sd[j]).collect())
            .collect();
        let (mut w, mut b) = (vec![0.0; d], 0.0);
        let rate = 0.5;
        for _ in 0..iterations {
            let mut gw = vec![0.0; d];
            let mut gb = 0.0;
            for (r, &t) in z.iter().zip(y) {
                let p =
                    1.0 / (1.0 + (-(b + r.iter().zip(&w).map(|(a, c)| a * c).sum::<f64>())).exp());
                let e = p - if t { 1.0 } else { 0.0 };
                gb += e / n;
                for j in 0..d {
                    gw[j] += e * r[j] / n;
                }
            }
            b -= rate * gb;
            for j in 0..d {
                w[j] -= rate * (gw[j] + 1e-3 * w[j]);
            }
        }
        Logistic { mean, sd, w, b }
    }

    pub fn score(&self, r: &[f64]) -> f64 {
        self.b
            + r.iter()
                .enumerate()
                .map(|(j, v)| (v - self.mean[j]) / self.sd[j] * self.w[j])
                .sum::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_by_hand() {
        // Positives 0.9 and 0.4, negatives 0.5 and 0.1: pairs won 3 of 4 = 0.75.
        assert_eq!(
            auc(&[0.9, 0.4, 0.5, 0.1], &[true, true, false, false]),
            Some(0.75)
        );
        // Ties count half: all equal gives 0.5.
        assert_eq!(auc(&[1.0, 1.0, 1.0], &[true, false, false]), Some(0.5));
        assert_eq!(auc(&[1.0, 2.0], &[true, true]), None);
        assert_eq!(auc(&[3.0, 2.0, 1.0], &[true, false, false]), Some(1.0));
    }

    #[test]
    fn logistic_learns_a_separating_feature_and_the_interval_brackets_the_auc() {
        let x: Vec<Vec<f64>> = (0..200).map(|i| vec![i as f64, (i % 7) as f64]).collect();
        let y: Vec<bool> = (0..200).map(|i| i >= 120).collect();
        let m = Logistic::fit(&x, &y, 300);
        let s: Vec<f64> = x.iter().map(|r| m.score(r)).collect();
        assert!(auc(&s, &y).unwrap() > 0.99);
        let noisy: Vec<f64> = (0..200)
            .map(|i| ((i * 37) % 100) as f64 + if i >= 120 { 30.0 } else { 0.0 })
            .collect();
        let a = auc(&noisy, &y).unwrap();
        let (lo, hi) = auc_interval(&noisy, &y, 200, 7).unwrap();
        assert!(lo <= a && a <= hi && lo < hi, "{lo} {a} {hi}");
    }
}
