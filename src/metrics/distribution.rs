//! Distributions of non-smooth targets: what a replicate *chose* (a cut-point, a covariate set).
//!
//! ```text
//! frequency of value v   P_v = #{choice_i = v} / nsim          MCSE sqrt(P_v (1 - P_v) / nsim)
//! mean (numeric)         mean(x)                               sqrt(S2_x / n)
//! quantile q (numeric)   R's quantile(type = 7): x_(h) interpolated, h = (n - 1) q (0-based)
//!                        MCSE = (x_(j_hi) - x_(j_lo)) / (2 z),  z = 1.959964,
//!                        j_lo = floor(n q - z sqrt(n q (1 - q))), j_hi = ceil(n q + z sqrt(n q (1 - q)))
//! ```
//! The quantile MCSE is the half-width of the distribution-free binomial order-statistic interval
//! for a quantile (Conover 1999, Practical Nonparametric Statistics, section 3.2) divided by z:
//! defined whatever the distribution, including the lumpy ones of selected cut-points.
//!
//! Counts are exact (integers). Numeric values are kept as a sorted table of (value, count), exact
//! while it has at most MAX_DISTINCT_VALUES = 4096 rows; past that the table is made flat by
//! binning: every value is replaced by the lower edge of its bin of width w = 2^e,
//! floor(x / w) w (exact in binary floating point), with e the smallest exponent that leaves at
//! most 2048 rows, raised again whenever the table outgrows the cap (merges take the larger e and
//! rebin both sides; binning with w then w' = 2^k w equals binning with w' directly, so the table
//! depends only on the values and the final e, and the fold order of blocks is fixed anyway).
//! Memory is then at most 4096 rows per choice, whatever the number of replicates. A binned
//! table reports `resolution = w`: quantiles use bin centres (off by at most w / 2), the
//! histogram assigns each bin by its centre, the frequency table is omitted, the mean stays exact
//! (it is accumulated separately). With a cut-point spread over a range R, w <= R / 1024: e.g. the
//! median's error R / 2048 is below its MCSE (about 1.25 sd / sqrt(n)) unless n > 10^6 and R > 6 sd.

use serde::{Deserialize, Serialize};

use super::moments::Moments;
use super::performance::{Estimate, proportion};

/// Above this many distinct values the summary omits the frequency table (quantiles and the
/// histogram describe such a distribution; the table stays complete in the accumulator).
pub const MAX_TABLE_ROWS: usize = 1000;

/// Most rows of a numeric choice's table before it is binned (see the module header).
pub const MAX_DISTINCT_VALUES: usize = 4096;

/// Probabilities of the reported quantiles.
pub const QUANTILE_PROBS: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

const Z_975: f64 = 1.959963984540054;

/// What kind of value a choice takes, declared up front.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChoiceKind {
    /// One of a fixed list of labels (a covariate set, a model); the replicate gives the index.
    Categorical { labels: Vec<String> },
    /// A number (a cut-point), optionally summarised by a fixed-bin histogram.
    Numeric { histogram: Option<HistogramSpec> },
}

/// `bins` equal bins over [lo, hi]; the last bin is closed on the right.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HistogramSpec {
    pub lo: f64,
    pub hi: f64,
    pub bins: u32,
}

/// What one replicate chose.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Choice {
    /// Nothing was chosen (e.g. no admissible cut-point).
    #[default]
    Missing,
    /// Index into the labels of a categorical choice.
    Category(u32),
    /// Value of a numeric choice (must be finite).
    Value(f64),
}

/// Exact, mergeable frequency table of one choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChoiceAccumulator {
    pub n_reps: u64,
    pub n_missing: u64,
    /// Count per label (categorical; empty for numeric).
    pub categories: Vec<u64>,
    /// (value, count) sorted by value (numeric); bin lower edges once binned.
    pub values: Vec<(f64, u64)>,
    /// `Some(e)`: values are binned to multiples of 2^e; `None`: exact.
    pub bin_exp: Option<i32>,
    /// Mean and spread of numeric values.
    pub moments: Moments,
}

impl ChoiceAccumulator {
    pub fn new(kind: &ChoiceKind) -> Self {
        let categories = match kind {
            ChoiceKind::Categorical { labels } => vec![0; labels.len()],
            ChoiceKind::Numeric { .. } => Vec::new(),
        };
        ChoiceAccumulator {
            n_reps: 0,
            n_missing: 0,
            categories,
            values: Vec::new(),
            bin_exp: None,
            moments: Moments::default(),
        }
    }

    /// Bin width, when binned.
    pub fn resolution(&self) -> Option<f64> {
        self.bin_exp.map(|e| 2f64.powi(e))
    }

    fn snap(&self, x: f64) -> f64 {
        match self.resolution() {
            Some(w) => (x / w).floor() * w + 0.0,
            None => x,
        }
    }

    /// Rebin the table to 2^e (e >= the current exponent).
    fn rebin(&mut self, e: i32) {
        self.bin_exp = Some(e);
        let w = 2f64.powi(e);
        let mut out: Vec<(f64, u64)> = Vec::with_capacity(self.values.len());
        for &(v, n) in &self.values {
            let s = (v / w).floor() * w + 0.0;
            match out.last_mut() {
                Some(last) if last.0 == s => last.1 += n,
                _ => out.push((s, n)),
            }
        }
        self.values = out;
    }

    /// Past the cap, coarsen until at most half the cap remains.
    fn enforce_cap(&mut self) {
        if self.values.len() <= MAX_DISTINCT_VALUES {
            return;
        }
        let (lo, hi) = (self.values[0].0, self.values[self.values.len() - 1].0);
        let guess = ((hi - lo) / (MAX_DISTINCT_VALUES / 2) as f64).log2().floor() as i32;
        let mut e = self.bin_exp.map_or(guess.clamp(-1000, 1000), |b| b.max(guess).min(1000));
        loop {
            self.rebin(e);
            if self.values.len() <= MAX_DISTINCT_VALUES / 2 || e >= 1000 {
                break;
            }
            e += 1;
        }
    }

    /// Add one replicate's choice; `Err` says why it does not fit the declared kind (nothing is
    /// added then).
    pub fn push(&mut self, kind: &ChoiceKind, choice: Choice) -> Result<(), &'static str> {
        match (kind, choice) {
            (_, Choice::Missing) => self.n_missing += 1,
            (ChoiceKind::Categorical { .. }, Choice::Category(i)) => {
                let slot = self.categories.get_mut(i as usize).ok_or("category index out of range")?;
                *slot += 1;
            }
            (ChoiceKind::Numeric { .. }, Choice::Value(x)) => {
                if !x.is_finite() {
                    return Err("numeric choice is not finite");
                }
                let x = x + 0.0; // -0.0 and 0.0 are one value
                let s = self.snap(x);
                match self.values.binary_search_by(|(v, _)| v.total_cmp(&s)) {
                    Ok(i) => self.values[i].1 += 1,
                    Err(i) => self.values.insert(i, (s, 1)),
                }
                self.enforce_cap();
                self.moments.push(x);
            }
            (ChoiceKind::Categorical { .. }, Choice::Value(_)) => {
                return Err("numeric value for a categorical choice");
            }
            (ChoiceKind::Numeric { .. }, Choice::Category(_)) => return Err("category for a numeric choice"),
        }
        self.n_reps += 1;
        Ok(())
    }

    /// Fold `other` (later replicates) into `self`.
    pub fn merge(&mut self, other: &ChoiceAccumulator) {
        self.n_reps += other.n_reps;
        self.n_missing += other.n_missing;
        for (a, b) in self.categories.iter_mut().zip(&other.categories) {
            *a += b;
        }
        let mut other_values = std::borrow::Cow::Borrowed(&other.values);
        match (self.bin_exp, other.bin_exp) {
            (None, Some(e)) => self.rebin(e),
            (Some(a), Some(b)) if a < b => self.rebin(b),
            (Some(a), b) if b.is_none_or(|b| b < a) => {
                let mut o = other.clone();
                o.rebin(a);
                other_values = std::borrow::Cow::Owned(o.values);
            }
            _ => {}
        }
        if !other_values.is_empty() {
            let mut merged = Vec::with_capacity(self.values.len() + other.values.len());
            let (mut i, mut j) = (0, 0);
            let (a, b) = (&self.values, &*other_values);
            while i < a.len() && j < b.len() {
                match a[i].0.total_cmp(&b[j].0) {
                    std::cmp::Ordering::Less => {
                        merged.push(a[i]);
                        i += 1;
                    }
                    std::cmp::Ordering::Greater => {
                        merged.push(b[j]);
                        j += 1;
                    }
                    std::cmp::Ordering::Equal => {
                        merged.push((a[i].0, a[i].1 + b[j].1));
                        i += 1;
                        j += 1;
                    }
                }
            }
            merged.extend_from_slice(&a[i..]);
            merged.extend_from_slice(&b[j..]);
            self.values = merged;
        }
        self.enforce_cap();
        self.moments.merge(&other.moments);
    }

    pub fn summary(&self, name: &str, kind: &ChoiceKind) -> ChoiceSummary {
        let nsim = self.n_reps;
        let mut out = ChoiceSummary {
            name: name.to_string(),
            kind: "categorical",
            nsim,
            n_missing: self.n_missing,
            missing_rate: proportion(self.n_missing, nsim),
            n_distinct: 0,
            resolution: self.resolution(),
            table: None,
            mean: None,
            quantiles: Vec::new(),
            histogram: None,
        };
        match kind {
            ChoiceKind::Categorical { labels } => {
                out.n_distinct = self.categories.iter().filter(|&&c| c > 0).count();
                out.table = Some(
                    labels
                        .iter()
                        .zip(&self.categories)
                        .map(|(l, &n)| FrequencyRow {
                            value: ChoiceValue::Label(l.clone()),
                            n,
                            proportion: proportion(n, nsim),
                        })
                        .collect(),
                );
            }
            ChoiceKind::Numeric { histogram } => {
                out.kind = "numeric";
                out.n_distinct = self.values.len();
                if self.values.len() <= MAX_TABLE_ROWS && self.bin_exp.is_none() {
                    out.table = Some(
                        self.values
                            .iter()
                            .map(|&(v, n)| FrequencyRow {
                                value: ChoiceValue::Number(v),
                                n,
                                proportion: proportion(n, nsim),
                            })
                            .collect(),
                    );
                }
                let m = &self.moments;
                out.mean = Some(Estimate {
                    est: m.mean(),
                    mcse: m.variance().map(|v| (v / m.n as f64).sqrt()),
                    n: m.n,
                });
                out.quantiles = QUANTILE_PROBS.iter().filter_map(|&q| self.quantile(q)).collect();
                out.histogram = histogram.map(|h| self.histogram(h));
            }
        }
        out
    }

    /// The k-th smallest numeric value (0-based), k < n (binned: its bin's centre).
    fn order_stat(&self, k: u64) -> f64 {
        let half = self.resolution().map_or(0.0, |w| w / 2.0);
        let mut seen = 0;
        for &(v, n) in &self.values {
            seen += n;
            if k < seen {
                return v + half;
            }
        }
        self.values.last().map_or(f64::NAN, |v| v.0 + half)
    }

    fn quantile(&self, q: f64) -> Option<QuantileRow> {
        let n = self.moments.n;
        if n == 0 {
            return None;
        }
        let h = (n - 1) as f64 * q;
        let lo = h.floor();
        let x_lo = self.order_stat(lo as u64);
        let x_hi = self.order_stat((lo as u64 + 1).min(n - 1));
        let est = x_lo + (h - lo) * (x_hi - x_lo);
        let mcse = (n >= 2).then(|| {
            let nf = n as f64;
            let s = (nf * q * (1.0 - q)).sqrt();
            let j_lo = ((nf * q - Z_975 * s).floor() as i64).clamp(1, n as i64) as u64;
            let j_hi = ((nf * q + Z_975 * s).ceil() as i64).clamp(1, n as i64) as u64;
            (self.order_stat(j_hi - 1) - self.order_stat(j_lo - 1)) / (2.0 * Z_975)
        });
        Some(QuantileRow { prob: q, est, mcse, n })
    }

    fn histogram(&self, spec: HistogramSpec) -> Histogram {
        let bins_n = spec.bins.max(1) as usize;
        let width = (spec.hi - spec.lo) / bins_n as f64;
        let mut counts = vec![0u64; bins_n];
        let (mut n_below, mut n_above) = (0, 0);
        let half = self.resolution().map_or(0.0, |w| w / 2.0);
        for &(v, n) in &self.values {
            let v = v + half;
            if v < spec.lo {
                n_below += n;
            } else if v > spec.hi {
                n_above += n;
            } else {
                let i = (((v - spec.lo) / width).floor() as usize).min(bins_n - 1);
                counts[i] += n;
            }
        }
        let bins = counts
            .iter()
            .enumerate()
            .map(|(i, &n)| Bin {
                lo: spec.lo + width * i as f64,
                hi: if i + 1 == bins_n { spec.hi } else { spec.lo + width * (i + 1) as f64 },
                n,
                proportion: proportion(n, self.n_reps),
            })
            .collect();
        Histogram { bins, n_below, n_above }
    }
}

/// Summary of one choice for `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChoiceSummary {
    pub name: String,
    pub kind: &'static str,
    pub nsim: u64,
    pub n_missing: u64,
    pub missing_rate: Estimate,
    /// Distinct values (binned: occupied bins).
    pub n_distinct: usize,
    /// Bin width once the table was binned (quantiles within half of it); `None`: exact.
    pub resolution: Option<f64>,
    /// Every value with its count; proportions are of all replicates (missing ones included).
    /// `None` above [`MAX_TABLE_ROWS`] distinct values or once binned.
    pub table: Option<Vec<FrequencyRow>>,
    /// Numeric choices: mean of the chosen values.
    pub mean: Option<Estimate>,
    /// Numeric choices: [`QUANTILE_PROBS`] quantiles of the chosen values (median at 0.5).
    pub quantiles: Vec<QuantileRow>,
    pub histogram: Option<Histogram>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ChoiceValue {
    Label(String),
    Number(f64),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrequencyRow {
    pub value: ChoiceValue,
    pub n: u64,
    pub proportion: Estimate,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct QuantileRow {
    pub prob: f64,
    pub est: f64,
    pub mcse: Option<f64>,
    pub n: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram {
    pub bins: Vec<Bin>,
    pub n_below: u64,
    pub n_above: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bin {
    pub lo: f64,
    pub hi: f64,
    pub n: u64,
    pub proportion: Estimate,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(values: &[f64]) -> (ChoiceKind, ChoiceAccumulator) {
        let kind = ChoiceKind::Numeric { histogram: Some(HistogramSpec { lo: 0.0, hi: 4.0, bins: 2 }) };
        let mut acc = ChoiceAccumulator::new(&kind);
        for &v in values {
            acc.push(&kind, Choice::Value(v)).unwrap();
        }
        (kind, acc)
    }

    #[test]
    fn quantiles_follow_r_type_7() {
        // R: quantile(c(1, 2, 2, 3, 10), c(.05, .25, .5, .75, .95)) = 1.2, 2, 2, 3, 8.6
        let (kind, acc) = numeric(&[3.0, 2.0, 10.0, 1.0, 2.0]);
        let s = acc.summary("cut", &kind);
        let q: Vec<f64> = s.quantiles.iter().map(|r| r.est).collect();
        let expect = [1.2, 2.0, 2.0, 3.0, 8.6];
        for (a, b) in q.iter().zip(expect) {
            assert!((a - b).abs() < 1e-12, "{q:?}");
        }
        // median MCSE: n = 5, q = .5: n q = 2.5, z sqrt(1.25) = 2.1913 -> j_lo = floor(0.309) = 0 -> 1,
        // j_hi = ceil(4.69) = 5: (x_(5) - x_(1)) / (2 z) = 9 / 3.919928.
        assert!((s.quantiles[2].mcse.unwrap() - 9.0 / (2.0 * Z_975)).abs() < 1e-12);
        // Table: 1 x1, 2 x2, 3 x1, 10 x1; histogram [0,2) has 1, [2,4] has 3, 10 is above.
        let t = s.table.unwrap();
        assert_eq!(t.len(), 4);
        assert_eq!(t[1].n, 2);
        assert_eq!(t[1].proportion.est, Some(0.4));
        let h = s.histogram.unwrap();
        assert_eq!((h.bins[0].n, h.bins[1].n, h.n_below, h.n_above), (1, 3, 0, 1));
    }

    #[test]
    fn merge_equals_pushing_everything_and_rejects_misfits() {
        let (_, all) = numeric(&[3.0, 2.0, 10.0, 1.0, 2.0, -0.0, 0.0]);
        let (_, mut a) = numeric(&[3.0, 2.0, 10.0]);
        let (_, b) = numeric(&[1.0, 2.0, -0.0, 0.0]);
        a.merge(&b);
        assert_eq!(a.values, all.values);
        assert_eq!(a.values[0], (0.0, 2));
        let kind = ChoiceKind::Categorical { labels: vec!["a".into(), "b".into()] };
        let mut c = ChoiceAccumulator::new(&kind);
        assert!(c.push(&kind, Choice::Category(2)).is_err());
        assert!(c.push(&kind, Choice::Value(1.0)).is_err());
        c.push(&kind, Choice::Category(1)).unwrap();
        c.push(&kind, Choice::Missing).unwrap();
        let s = c.summary("set", &kind);
        assert_eq!((s.nsim, s.n_missing), (2, 1));
        assert_eq!(s.table.unwrap()[1].proportion.est, Some(0.5));
    }

    #[test]
    fn numeric_tables_are_binned_past_the_cap_and_merge_the_same_way() {
        // 20 000 distinct values k / 1000 on [0, 20): past the cap of 4096 the table is binned to
        // 2^e with at most 2048 bins: range 20 / 2048 = 0.0098 -> e = -6 (w = 1/64: 1280 bins).
        let values: Vec<f64> = (0..20_000).map(|k| ((k * 7919) % 20_000) as f64 / 1000.0).collect();
        let (kind, all) = numeric(&values);
        assert_eq!(all.bin_exp, Some(-6));
        assert_eq!(all.values.len(), 1280);
        assert!(all.values.iter().all(|&(_, n)| n == 16 || n == 15));
        // Blocks of 700 merged in order give the same table; mean exact (19999 / 2000).
        let mut merged = ChoiceAccumulator::new(&kind);
        for chunk in values.chunks(700) {
            merged.merge(&numeric(chunk).1);
        }
        assert_eq!(merged.values, all.values);
        assert_eq!(merged.bin_exp, all.bin_exp);
        let s = all.summary("cut", &kind);
        assert_eq!(s.resolution, Some(1.0 / 64.0));
        assert!(s.table.is_none());
        assert!((s.mean.unwrap().est.unwrap() - 19.999 / 2.0).abs() < 1e-9);
        // Median of 0, 0.001, ..., 19.999 is 9.9995; binned, within w / 2 of it (plus one step).
        let med = s.quantiles[2].est;
        assert!((med - 9.9995).abs() <= 1.0 / 128.0 + 0.001, "{med}");
    }
}
