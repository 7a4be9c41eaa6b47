//! The latency distribution as a picture: latency against percentile on a "nines" scale
//! (50%, 90%, 99%, 99.9%, ...), as HdrHistogram plots it, drawn with plotters to SVG or PNG.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::load::Tally;

/// Why the plot could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The file name does not say SVG or PNG.
    #[error("`{0}`: the plot is written as .svg or .png; name the file so")]
    Format(String),
    /// Drawing or writing failed.
    #[error("cannot draw `{path}`: {reason}")]
    Draw {
        /// The file.
        path: String,
        /// What failed.
        reason: String,
    },
}

/// The percentile curve: (nines, latency ms), nines = -log10(1 - percentile).
fn curve(tally: &Tally) -> Vec<(f64, f64)> {
    let h = &tally.latency;
    if h.is_empty() {
        return Vec::new();
    }
    // Percentiles finer than one call say nothing: stop at 1 - 1/calls.
    let finest = 1.0 - 1.0 / (h.len().max(10) as f64);
    h.iter_quantiles(4)
        .map(|v| {
            let p = v.quantile_iterated_to().min(finest);
            (-(1.0 - p).log10(), v.value_iterated_to() as f64 / 1000.0)
        })
        .collect()
}

fn nines_label(x: &f64) -> String {
    let p = 100.0 * (1.0 - 10f64.powf(-x));
    let s = format!("{p:.4}");
    format!("{}%", s.trim_end_matches('0').trim_end_matches('.'))
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    points: &[(f64, f64)],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let x_max = points.last().map_or(3.0, |p| p.0.ceil().max(2.0));
    let y_max = points
        .iter()
        .map(|p| p.1)
        .fold(0.0_f64, f64::max)
        .max(0.001)
        * 1.1;
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(0f64..x_max, 0f64..y_max)?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("latency (ms)")
        .x_labels(x_max as usize + 1)
        .x_label_formatter(&nines_label)
        .draw()?;
    chart.draw_series(LineSeries::new(
        points.iter().copied(),
        BLUE.stroke_width(2),
    ))?;
    root.present()?;
    Ok(())
}

/// Fonts tried for the labels (plotters lays text out with one, for SVG too).
const FONTS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
];

/// Registers the first font found as plotters' `sans-serif`, once.
pub fn register_font() -> Result<(), String> {
    static REGISTERED: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            let bytes = FONTS
                .iter()
                .find_map(|p| std::fs::read(p).ok())
                .ok_or_else(|| {
                    format!(
                        "the plot needs a font for its labels and none was found (looked for {}); install fonts-dejavu-core",
                        FONTS.join(", ")
                    )
                })?;
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
                .map_err(|_| "the font file is not a usable TrueType font".to_owned())
        })
        .clone()
}

/// Draws `tally`'s distribution to `path` (`.svg` or `.png`) under `title`.
pub fn plot(tally: &Tally, title: &str, path: &Path) -> Result<(), PlotError> {
    let name = path.display().to_string();
    let failed = |e: String| PlotError::Draw {
        path: name.clone(),
        reason: e,
    };
    let points = curve(tally);
    let svg = match path.extension().and_then(|e| e.to_str()) {
        Some("svg") => true,
        Some("png") => false,
        _ => return Err(PlotError::Format(name)),
    };
    register_font().map_err(failed)?;
    // plotters panics on some text it cannot lay out: a plot must not end the run.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        if svg {
            draw(
                &SVGBackend::new(path, (900, 540)).into_drawing_area(),
                title,
                &points,
            )
            .map_err(|e| e.to_string())
        } else {
            draw(
                &BitMapBackend::new(path, (900, 540)).into_drawing_area(),
                title,
                &points,
            )
            .map_err(|e| e.to_string())
        }
    }))
    .map_err(|_| failed("plotters failed to lay out the text".to_owned()))?
    .map_err(failed)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn nines_read_as_percentiles() {
        assert_eq!(nines_label(&0.0), "0%");
        assert_eq!(nines_label(&1.0), "90%");
        assert_eq!(nines_label(&2.0), "99%");
        assert_eq!(nines_label(&3.0), "99.9%");
    }
}
