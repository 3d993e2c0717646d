//! SVG figures of the reliability report: plain data in, an SVG document (`String`) out.
//!
//! ```text
//! km_curves               step functions S(t) of typical synthetic cohorts + the paper's points
//! histogram               % of replicates per bin (e.g. the selected cut-point) + marker lines
//! power_curves            power against n, error bars ± 2 MCSE, reference lines (80%, 90%)
//! distribution_with_truth % of replicates per bin of an estimate (HR), truth and paper marked
//! ```
//!
//! Text is laid out with DejaVu Sans (assets/fonts/DejaVuSans.ttf, Bitstream Vera licence), embedded
//! with `include_bytes!` and registered with plotters' `register_font` (ab_glyph), so no system font
//! or fontconfig is needed to draw. The SVG keeps its text as `<text>` elements with
//! `font-family="DejaVu Sans, sans-serif"`: a viewer without DejaVu uses its own sans-serif.
//!
//! Architecture invariant: no IO (the caller writes the files) and no statistics; non-finite values
//! are dropped before drawing, and a figure with nothing left to draw is a valid SVG that says
//! "No data". `Err` only when plotters itself fails.

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::sync::OnceLock;

/// Figure size in pixels (width, height).
pub const SIZE: (u32, u32) = (720, 480);

/// One survival curve: `surv[i]` is S(t) from `time[i]` until the next time (right-continuous,
/// as R's `survfit` reports it). The curve is drawn from S = 1 at time 0 if `time[0] > 0`.
#[derive(Debug, Clone, PartialEq)]
pub struct StepCurve {
    /// Legend text; curves sharing a label share a colour and one legend entry.
    pub label: String,
    pub time: Vec<f64>,
    pub surv: Vec<f64>,
}

/// One power curve: points `(n, power, mcse)`, power in [0, 1], drawn with ± 2 MCSE error bars.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64, f64)>,
}

/// Plotters failed (font registration or drawing); the message is plotters' own.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("the embedded font could not be registered")]
    Font,
    #[error("drawing failed: {0}")]
    Draw(String),
}

/// Kaplan–Meier curves (faint steps) with the paper's estimates as bold labelled points.
///
/// `reference_points` are `(time, surv, label)`, e.g. `(60.0, 0.347, "Paper: 5-y OS 34.7%")`.
/// The survival axis runs from 0% to 100%.
pub fn km_curves(
    title: &str,
    curves: &[StepCurve],
    reference_points: &[(f64, f64, &str)],
    x_label: &str,
    y_label: &str,
) -> Result<String, PlotError> {
    // (colour index, label, step path)
    let steps: Vec<(usize, &str, Path)> = {
        let mut labels: Vec<&str> = Vec::new();
        curves
            .iter()
            .filter_map(|c| {
                let pts = step_points(c);
                if pts.len() < 2 {
                    return None;
                }
                let idx = labels.iter().position(|l| *l == c.label).unwrap_or_else(|| {
                    labels.push(&c.label);
                    labels.len() - 1
                });
                Some((idx, c.label.as_str(), pts))
            })
            .collect()
    };
    let refs: Vec<(f64, f64, &str)> = reference_points
        .iter()
        .filter(|(t, s, _)| drawable(*t) && s.is_finite())
        .map(|&(t, s, l)| (t.max(0.0), s.clamp(0.0, 1.0), l))
        .collect();
    render(title, |area| {
        if steps.is_empty() && refs.is_empty() {
            return no_data(area);
        }
        let t_max = steps
            .iter()
            .flat_map(|(_, _, p)| p.iter().map(|q| q.0))
            .chain(refs.iter().map(|r| r.0))
            .fold(0.0_f64, f64::max);
        let t_max = if t_max > 1e-9 { t_max * 1.03 } else { 1.0 };
        let mut chart = chart_builder(area).build_cartesian_2d(0.0..t_max, 0.0..1.0)?;
        configure_mesh(&mut chart, x_label, y_label, true)?;

        let mut legend_done = Vec::new();
        for (idx, label, pts) in &steps {
            let colour = palette(*idx);
            let series =
                chart.draw_series(LineSeries::new(pts.iter().copied(), colour.mix(0.45).stroke_width(2)))?;
            if !legend_done.contains(idx) {
                legend_done.push(*idx);
                series
                    .label(label.to_string())
                    .legend(move |(x, y)| line_glyph(x, y, colour.stroke_width(3)));
            }
        }
        if !refs.is_empty() {
            let series =
                chart.draw_series(refs.iter().map(|&(t, s, _)| Circle::new((t, s), 6, BLACK.filled())))?;
            series.label("Paper (published)").legend(|(x, y)| Circle::new((x + 10, y), 5, BLACK.filled()));
            for &(t, s, label) in &refs {
                // Labels right of the point, or left of it in the right quarter of the plot.
                let right_side = t > 0.75 * t_max;
                let (dx, h) = if right_side { (-10, HPos::Right) } else { (10, HPos::Left) };
                let style = font(15).pos(Pos::new(h, VPos::Bottom));
                chart.draw_series(std::iter::once(
                    EmptyElement::at((t, s)) + Text::new(label.to_string(), (dx, -6), style),
                ))?;
            }
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)
    })
}

/// Histogram of counts per bin `(lo, hi, count)`, shown as % of all counted replicates, with
/// vertical marker lines `(x, label)` (e.g. the paper's "> 10" and the true cut).
pub fn histogram(
    title: &str,
    bins: &[(f64, f64, u64)],
    marker_lines: &[(f64, &str)],
    x_label: &str,
) -> Result<String, PlotError> {
    let markers: Vec<(f64, String)> = marker_lines.iter().map(|&(x, l)| (x, l.to_string())).collect();
    bars(title, bins, &markers, x_label, false)
}

/// Distribution of an estimate across replicates (bins as in [`histogram`]) with the true value
/// and, if given, the paper's estimate marked; `log_x` for hazard ratios (bins with lo <= 0 are
/// then dropped).
pub fn distribution_with_truth(
    title: &str,
    bins: &[(f64, f64, u64)],
    truth: f64,
    paper: Option<f64>,
    x_label: &str,
    log_x: bool,
) -> Result<String, PlotError> {
    let mut markers = vec![(truth, format!("Truth: {}", short(truth)))];
    if let Some(p) = paper {
        markers.push((p, format!("Paper: {}", short(p))));
    }
    bars(title, bins, &markers, x_label, log_x)
}

/// Power against sample size: one line per series with ± 2 MCSE error bars, and dashed
/// horizontal reference lines `(power, label)` such as `(0.8, "80%")`. Power axis 0%–100%.
pub fn power_curves(
    title: &str,
    series: &[Series],
    reference_lines: &[(f64, &str)],
    x_label: &str,
) -> Result<String, PlotError> {
    let lines: Vec<(&str, Vec<PowerPoint>)> = series
        .iter()
        .map(|s| {
            let mut pts: Vec<(f64, f64, f64)> = s
                .points
                .iter()
                .filter(|p| drawable(p.0) && p.1.is_finite())
                .map(|&(n, p, m)| (n, p.clamp(0.0, 1.0), if m.is_finite() { m.abs() } else { 0.0 }))
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            (s.label.as_str(), pts)
        })
        .filter(|(_, pts)| !pts.is_empty())
        .collect();
    let refs: Vec<(f64, &str)> =
        reference_lines.iter().filter(|(y, _)| y.is_finite() && (0.0..=1.0).contains(y)).copied().collect();
    render(title, |area| {
        if lines.is_empty() {
            return no_data(area);
        }
        let (lo, hi) = padded_range(lines.iter().flat_map(|(_, p)| p.iter().map(|q| q.0)), 0.05);
        let mut chart = chart_builder(area).build_cartesian_2d(lo..hi, 0.0..1.0)?;
        configure_mesh(&mut chart, x_label, "Power", true)?;
        for &(y, label) in &refs {
            chart.draw_series(std::iter::once(DashedPathElement::new(
                vec![(lo, y), (hi, y)],
                8,
                6,
                RGBColor(90, 90, 90).stroke_width(2),
            )))?;
            let style = font(15).pos(Pos::new(HPos::Left, VPos::Bottom)).color(&RGBColor(70, 70, 70));
            chart.draw_series(std::iter::once(
                EmptyElement::at((lo, y)) + Text::new(label.to_string(), (6, -4), style),
            ))?;
        }
        for (i, (label, pts)) in lines.iter().enumerate() {
            let colour = palette(i);
            for &(n, p, m) in pts.iter().filter(|p| p.2 > 0.0) {
                let (y0, y1) = ((p - 2.0 * m).max(0.0), (p + 2.0 * m).min(1.0));
                let style = colour.stroke_width(2);
                let cap = |y: f64| EmptyElement::at((n, y)) + PathElement::new(vec![(-5, 0), (5, 0)], style);
                chart.draw_series(std::iter::once(PathElement::new(vec![(n, y0), (n, y1)], style)))?;
                chart.draw_series([cap(y0), cap(y1)])?;
            }
            chart
                .draw_series(LineSeries::new(pts.iter().map(|&(n, p, _)| (n, p)), colour.stroke_width(3)))?
                .label(label.to_string())
                .legend(move |(x, y)| line_glyph(x, y, colour.stroke_width(3)));
            chart.draw_series(pts.iter().map(|&(n, p, _)| Circle::new((n, p), 5, colour.filled())))?;
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerRight)
    })
}

// ---------------------------------------------------------------------------------------------
// Private helpers.

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Path = Vec<(f64, f64)>;
/// (n, power, mcse)
type PowerPoint = (f64, f64, f64);
type DrawResult = Result<(), Box<dyn std::error::Error + 'static>>;

const FONT_FAMILY: &str = "DejaVu Sans, sans-serif";
static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

fn ensure_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT_BYTES).is_ok()
            && plotters::style::register_font(FONT_FAMILY, FontStyle::Bold, FONT_BYTES).is_ok()
    });
    if ok { Ok(()) } else { Err(PlotError::Font) }
}

fn font(size: u32) -> TextStyle<'static> {
    (FONT_FAMILY, size).into_font().color(&BLACK)
}

/// White 720x480 canvas with the title on top; `body` draws the rest.
fn render(title: &str, body: impl FnOnce(&Area<'_>) -> DrawResult) -> Result<String, PlotError> {
    ensure_font()?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let area =
            root.titled(title, (FONT_FAMILY, 26).into_font().style(FontStyle::Bold)).map_err(draw_err)?;
        body(&area).map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

fn draw_err(e: impl std::fmt::Display) -> PlotError {
    PlotError::Draw(e.to_string())
}

fn no_data(area: &Area<'_>) -> DrawResult {
    let (w, h) = area.dim_in_pixel();
    let style = font(24).pos(Pos::new(HPos::Center, VPos::Center)).color(&RGBColor(90, 90, 90));
    area.draw(&Text::new("No data", (w as i32 / 2, h as i32 / 2), style))?;
    Ok(())
}

fn chart_builder<'a, 'b>(area: &'a Area<'b>) -> ChartBuilder<'a, 'b, SVGBackend<'b>> {
    let mut b = ChartBuilder::on(area);
    b.margin(12).margin_right(24).x_label_area_size(52).y_label_area_size(72);
    b
}

fn configure_mesh<X, Y>(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<X, Y>>,
    x_label: &str,
    y_label: &str,
    y_percent: bool,
) -> DrawResult
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let percent = |v: &f64| format!("{:.0}%", v * 100.0);
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(x_label)
        .y_desc(y_label)
        .axis_desc_style(font(18))
        .label_style(font(15))
        .light_line_style(TRANSPARENT)
        .bold_line_style(RGBColor(215, 215, 215))
        .x_labels(8)
        .y_labels(6)
        .x_label_formatter(&|v| short(*v));
    if y_percent {
        mesh.y_label_formatter(&percent);
    }
    mesh.draw()?;
    Ok(())
}

fn draw_legend<'a, 'b: 'a, X, Y>(
    chart: &mut ChartContext<'a, SVGBackend<'b>, Cartesian2d<X, Y>>,
    position: SeriesLabelPosition,
) -> DrawResult
where
    X: Ranged,
    Y: Ranged,
{
    chart
        .configure_series_labels()
        .position(position)
        .margin(12)
        .label_font(font(15))
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(150, 150, 150))
        .draw()?;
    Ok(())
}

fn line_glyph(x: i32, y: i32, style: ShapeStyle) -> PathElement<(i32, i32)> {
    PathElement::new(vec![(x, y), (x + 22, y)], style)
}

/// Colour-blind-safe palette (Okabe & Ito 2008).
fn palette(i: usize) -> RGBColor {
    const COLOURS: [RGBColor; 7] = [
        RGBColor(0, 114, 178),
        RGBColor(213, 94, 0),
        RGBColor(0, 158, 115),
        RGBColor(204, 121, 167),
        RGBColor(230, 159, 0),
        RGBColor(86, 180, 233),
        RGBColor(120, 120, 120),
    ];
    COLOURS[i % COLOURS.len()]
}

/// Marker lines of histograms: truth first (solid, green), then others (dashed).
fn marker_colour(i: usize) -> RGBColor {
    [RGBColor(0, 130, 80), RGBColor(200, 30, 30), RGBColor(120, 60, 160), RGBColor(0, 0, 0)][i % 4]
}

/// A number for a tick or label: at most 3 significant digits, no trailing zeros.
fn short(v: f64) -> String {
    if !v.is_finite() {
        return String::from("–");
    }
    let a = v.abs();
    let s = if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    };
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// The step path of a KM curve, dropping non-finite points; S clamped to [0, 1].
fn step_points(c: &StepCurve) -> Vec<(f64, f64)> {
    let raw: Vec<(f64, f64)> = c
        .time
        .iter()
        .zip(&c.surv)
        .filter(|(t, s)| drawable(**t) && s.is_finite())
        .map(|(&t, &s)| (t.max(0.0), s.clamp(0.0, 1.0)))
        .collect();
    let mut pts = Vec::with_capacity(2 * raw.len() + 1);
    if raw.first().is_some_and(|p| p.0 > 0.0) {
        pts.push((0.0, 1.0));
    }
    for &(t, s) in &raw {
        if let Some(&(_, prev)) = pts.last() {
            pts.push((t, prev));
        }
        pts.push((t, s));
    }
    pts
}

/// Finite and small enough that ranges and paddings stay finite.
fn drawable(v: f64) -> bool {
    v.is_finite() && v.abs() < 1e100
}

/// (min, max) of finite values, widened by `pad` of the span (or ±1 if the span is 0).
fn padded_range(values: impl Iterator<Item = f64>, pad: f64) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    // A span below ~1e-9 of the magnitude would leave plotters' tick steps under one ulp.
    let magnitude = lo.abs().max(hi.abs());
    if span > 1e-9 * magnitude {
        (lo - pad * span, hi + pad * span)
    } else {
        let half = (0.1 * magnitude).max(1.0);
        (lo - half, hi + half)
    }
}

/// Tick values for a log axis on [lo, hi] (0 < lo < hi): 1-2-5 per decade over a few decades,
/// powers of ten (thinned to at most ~8) over many.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let (d0, d1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let decades = d1 - d0;
    let (mantissas, step): (&[f64], i32) = match decades {
        0..=1 => (&[1.0, 1.5, 2.0, 3.0, 5.0, 7.0], 1),
        2..=4 => (&[1.0, 2.0, 5.0], 1),
        _ => (&[1.0], (decades + 7) / 8),
    };
    let mut ticks = Vec::new();
    let mut d = d0;
    while d <= d1 {
        for m in mantissas {
            let v = m * 10f64.powi(d);
            if (lo..=hi).contains(&v) {
                ticks.push(v);
            }
        }
        d += step;
    }
    ticks
}

/// Shared body of [`histogram`] and [`distribution_with_truth`].
fn bars(
    title: &str,
    bins: &[(f64, f64, u64)],
    markers: &[(f64, String)],
    x_label: &str,
    log_x: bool,
) -> Result<String, PlotError> {
    let ok = |x: f64| drawable(x) && (!log_x || x > 1e-100);
    let bins: Vec<(f64, f64, u64)> =
        bins.iter().filter(|b| ok(b.0) && ok(b.1) && b.1 > b.0).copied().collect();
    let total: u64 = bins.iter().map(|b| b.2).sum();
    let markers: Vec<(f64, &str)> =
        markers.iter().filter(|m| ok(m.0)).map(|(x, l)| (*x, l.as_str())).collect();
    render(title, |area| {
        if total == 0 {
            return no_data(area);
        }
        let shares: Vec<(f64, f64, f64)> =
            bins.iter().map(|&(lo, hi, c)| (lo, hi, c as f64 / total as f64)).collect();
        let y_max = shares.iter().map(|b| b.2).fold(0.0, f64::max) * 1.15;
        let xs = bins.iter().flat_map(|b| [b.0, b.1]).chain(markers.iter().map(|m| m.0));
        if log_x {
            let (lo, hi) = xs.fold((f64::INFINITY, 0.0_f64), |(a, b), v| (a.min(v), b.max(v)));
            // At least a factor 4 wide, so that the log axis has ticks.
            let (lo, hi) = if hi > 4.0 * lo { (lo / 1.1, hi * 1.1) } else { (lo / 2.0, hi * 2.0) };
            let ticks = log_ticks(lo, hi);
            bars_on((lo..hi).log_scale().with_key_points(ticks), area, &shares, y_max, &markers, x_label)
        } else {
            let (lo, hi) = padded_range(xs, 0.03);
            bars_on(lo..hi, area, &shares, y_max, &markers, x_label)
        }
    })
}

fn bars_on<X>(
    x_range: X,
    area: &Area<'_>,
    shares: &[(f64, f64, f64)],
    y_max: f64,
    markers: &[(f64, &str)],
    x_label: &str,
) -> DrawResult
where
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = chart_builder(area).build_cartesian_2d(x_range, 0.0..y_max)?;
    configure_mesh(&mut chart, x_label, "Share of replicates", true)?;
    let fill = RGBColor(110, 150, 200);
    chart
        .draw_series(shares.iter().map(|&(lo, hi, s)| Rectangle::new([(lo, 0.0), (hi, s)], fill.filled())))?;
    chart.draw_series(
        shares.iter().map(|&(lo, hi, s)| Rectangle::new([(lo, 0.0), (hi, s)], WHITE.stroke_width(1))),
    )?;
    for (i, &(x, label)) in markers.iter().enumerate() {
        let colour = marker_colour(i);
        let style = colour.stroke_width(3);
        let path = vec![(x, 0.0), (x, y_max)];
        if i == 0 {
            chart
                .draw_series(std::iter::once(PathElement::new(path, style)))?
                .label(label.to_string())
                .legend(move |(x, y)| line_glyph(x, y, style));
        } else {
            chart
                .draw_series(std::iter::once(DashedPathElement::new(path, 10, 6, style)))?
                .label(label.to_string())
                .legend(move |(x, y)| DashedPathElement::new(vec![(x, y), (x + 22, y)], 8, 4, style));
        }
    }
    if markers.is_empty() {
        return Ok(()); // no legend box without entries
    }
    draw_legend(&mut chart, SeriesLabelPosition::UpperRight)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_points_start_at_one_and_hold_each_value() {
        // S = 0.8 from t = 2, 0.5 from t = 5: (0,1) (2,1) (2,0.8) (5,0.8) (5,0.5).
        let c = StepCurve { label: String::new(), time: vec![2.0, 5.0], surv: vec![0.8, 0.5] };
        assert_eq!(step_points(&c), vec![(0.0, 1.0), (2.0, 1.0), (2.0, 0.8), (5.0, 0.8), (5.0, 0.5)]);
        // A curve already at t = 0 gets no extra point; NaN pairs are dropped, S clamped to [0, 1].
        let c =
            StepCurve { label: String::new(), time: vec![0.0, f64::NAN, 3.0], surv: vec![1.2, 0.5, -0.1] };
        assert_eq!(step_points(&c), vec![(0.0, 1.0), (3.0, 1.0), (3.0, 0.0)]);
    }

    #[test]
    fn log_ticks_follow_1_2_5() {
        // [0.45, 22]: two decades and a bit -> 1-2-5 per decade.
        assert_eq!(log_ticks(0.45, 22.0), vec![0.5, 1.0, 2.0, 5.0, 10.0, 20.0]);
        // 1e-20 .. 1e20: 40 decades -> every 5th power of ten (step (40 + 7) / 8 = 5).
        let t = log_ticks(1e-20, 1e20);
        assert_eq!(t.len(), 9);
        assert!((t[0] - 1e-20).abs() < 1e-30 && (t[8] - 1e20).abs() < 1e6);
    }

    #[test]
    fn padded_range_never_collapses() {
        assert_eq!(padded_range([1.0, 3.0].into_iter(), 0.5), (0.0, 4.0));
        assert_eq!(padded_range([5.0].into_iter(), 0.1), (4.0, 6.0));
        // Span below 1e-9 of the magnitude: widened by 10% of the magnitude.
        assert_eq!(padded_range([1e12 - 1.0, 1e12].into_iter(), 0.1), (0.9e12 - 1.0, 1.1e12));
        assert_eq!(padded_range([f64::NAN].into_iter(), 0.1), (0.0, 1.0));
    }

    #[test]
    fn short_numbers() {
        assert_eq!(short(4.28), "4.28");
        assert_eq!(short(2.10), "2.1");
        assert_eq!(short(10.0), "10");
        assert_eq!(short(0.347), "0.347");
        assert_eq!(short(800.0), "800");
        assert_eq!(short(f64::NAN), "–");
    }
}
