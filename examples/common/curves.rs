//! Learning curves as SVG (plotters), shared by the examples that draw one.

use plotters::prelude::*;

/// A chart's title and axes: descriptions, the upper end of x (which starts at 0) and the range
/// of y.
pub struct Axes<'a> {
    pub title: &'a str,
    pub x: (&'a str, f64),
    pub y: (&'a str, std::ops::Range<f64>),
}

/// One line: its legend, its points, its colour.
pub struct Curve<'a> {
    pub label: &'a str,
    pub points: Vec<(f64, f64)>,
    pub color: RGBColor,
}

/// Draws `curves` on `axes` as an 800 x 480 SVG at `path`, with a legend.
pub fn plot_curves(
    path: &str,
    axes: &Axes<'_>,
    curves: &[Curve<'_>],
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (800, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(axes.title, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0f64..axes.x.1.max(1.0), axes.y.1.clone())?;
    chart
        .configure_mesh()
        .x_desc(axes.x.0)
        .y_desc(axes.y.0)
        .draw()?;
    for curve in curves {
        let color = curve.color;
        chart
            .draw_series(LineSeries::new(curve.points.iter().copied(), &color))?
            .label(curve.label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE)
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
