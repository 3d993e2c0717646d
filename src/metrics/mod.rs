//! Performance of estimators over Monte Carlo replicates, each measure with its Monte Carlo SE.
//!
//! ```text
//! replicate i -> Observation { estimate, se, lower, upper, p_value, flags }  (one per estimand x method)
//!             -> PairAccumulator::push        (streaming, mergeable, deterministic)
//!             -> PairAccumulator::summary      (Morris, White & Crowther 2019, Table 6)
//! replicate i -> Choice (a selected cut-point, a selected covariate set, ...)
//!             -> ChoiceAccumulator             (exact frequency tables, quantiles)
//! ```
//! Morris TP, White IR, Crowther MJ (2019). Using simulation studies to evaluate statistical methods.
//! Stat Med 38:2074-2102. Measure names follow R's rsimsum (`bias`, `empse`, `modelse`, `cover`, ...).
//!
//! Architecture invariant: metrics never see an RNG, a thread or a file. Accumulators merge
//! left to right: the same sequence of pushes and merges gives the same bits on any machine.

pub mod distribution;
pub mod moments;
pub mod performance;

pub use distribution::{Choice, ChoiceAccumulator, ChoiceKind, ChoiceSummary, HistogramSpec};
pub use moments::Moments;
pub use performance::{
    BeGrid, Estimate, ExactEnds, Measure, PairAccumulator, PairCounts, PairGrids, PairPilot, PairSummary,
    ViewSummary,
};

use serde::{Deserialize, Serialize};

/// What one method reports for one estimand on one replicate. Fields a method does not produce are
/// `None`; a degenerate fit keeps whatever numbers it produced and says why it is degenerate in
/// `flags`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    pub estimate: f64,
    pub se: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub p_value: Option<f64>,
    pub flags: Flags,
}

impl Observation {
    /// An estimate alone; add the rest with the `with_*` methods.
    pub fn estimate(estimate: f64) -> Self {
        Observation { estimate, se: None, lower: None, upper: None, p_value: None, flags: Flags::NONE }
    }

    pub fn with_se(self, se: f64) -> Self {
        Observation { se: Some(se), ..self }
    }

    pub fn with_interval(self, lower: f64, upper: f64) -> Self {
        Observation { lower: Some(lower), upper: Some(upper), ..self }
    }

    pub fn with_p_value(self, p_value: f64) -> Self {
        Observation { p_value: Some(p_value), ..self }
    }

    pub fn with_flag(self, kind: DegenerateKind) -> Self {
        Observation { flags: self.flags.with(kind), ..self }
    }
}

/// Why a fit is degenerate. The set is closed so that counting needs no strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DegenerateKind {
    /// The fitting algorithm stopped at its iteration limit.
    NonConvergence,
    /// The likelihood increases without bound (an estimate drifting to +-infinity; R warns
    /// "Loglik converged before variable ...").
    MonotoneLikelihood,
    /// A group to compare has no members.
    EmptyGroup,
    /// No events: nothing to estimate from.
    NoEvents,
    /// Any other reason the study considers degenerate.
    Other,
}

impl DegenerateKind {
    pub const ALL: [DegenerateKind; 5] = [
        DegenerateKind::NonConvergence,
        DegenerateKind::MonotoneLikelihood,
        DegenerateKind::EmptyGroup,
        DegenerateKind::NoEvents,
        DegenerateKind::Other,
    ];
    pub const COUNT: usize = Self::ALL.len();

    /// snake_case name used in output files.
    pub fn name(self) -> &'static str {
        match self {
            DegenerateKind::NonConvergence => "non_convergence",
            DegenerateKind::MonotoneLikelihood => "monotone_likelihood",
            DegenerateKind::EmptyGroup => "empty_group",
            DegenerateKind::NoEvents => "no_events",
            DegenerateKind::Other => "other",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of [`DegenerateKind`]s (a bit set; no allocation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Flags(u8);

impl Flags {
    pub const NONE: Flags = Flags(0);

    pub fn with(self, kind: DegenerateKind) -> Flags {
        Flags(self.0 | kind.bit())
    }

    pub fn contains(self, kind: DegenerateKind) -> bool {
        self.0 & kind.bit() != 0
    }

    /// True when any flag is set: the fit is degenerate.
    pub fn is_degenerate(self) -> bool {
        self.0 != 0
    }

    /// The kinds set, in [`DegenerateKind::ALL`] order.
    pub fn kinds(self) -> impl Iterator<Item = DegenerateKind> {
        DegenerateKind::ALL.into_iter().filter(move |k| self.contains(*k))
    }
}
