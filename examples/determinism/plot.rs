//! The picture (plotters, SVG backend): instructions per call against live blocks, one band
//! (min–max) and one line (median) per allocator for allocate and for free, and the worst
//! call seen per allocator beside detalloc's static bound.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::report::{Bound, Call, SUBJECTS, range, spread};
use crate::workload::Op;

/// Slices of the live-block axis a band is made of.
pub const BUCKETS: usize = 64;

/// One allocator's calls of one kind in one slice of the live-block axis.
pub struct Band {
    /// The allocator's key.
    pub key: &'static str,
    /// Allocate or free.
    pub op: Op,
    /// Live blocks before the call, from (inclusive).
    pub from: usize,
    /// To (exclusive).
    pub to: usize,
    /// Calls in the slice.
    pub calls: usize,
    /// Fewest instructions.
    pub min: u64,
    /// Median.
    pub median: u64,
    /// Most.
    pub max: u64,
}

/// The bands of the picture heap's calls (`most` = one more than the most blocks live).
pub fn bands(calls: &[&Call], most: usize) -> Vec<Band> {
    let width = most.div_ceil(BUCKETS);
    let mut out = Vec::new();
    for s in &SUBJECTS {
        for op in [Op::Alloc, Op::Free] {
            let mut slices: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
            for c in calls.iter().filter(|c| c.key == s.key && c.op == op) {
                slices.entry(c.live / width).or_default().push(c.own());
            }
            for (slice, counts) in slices {
                let calls = counts.len();
                let (min, median, max) = spread(counts);
                let (from, to) = (slice * width, ((slice + 1) * width).min(most));
                out.push(Band { key: s.key, op, from, to, calls, min, median, max });
            }
        }
    }
    out
}

/// The bands as CSV.
pub fn bands_csv(bands: &[Band]) -> String {
    let mut csv = String::from("allocator,op,live_from,live_to,calls,min,median,max\n");
    for b in bands {
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{},{}",
            b.key,
            b.op.name(),
            b.from,
            b.to,
            b.calls,
            b.min,
            b.median,
            b.max
        );
    }
    csv
}

/// Each subject's colour, in `SUBJECTS` order: detalloc in blues and greens.
const COLORS: [RGBColor; 11] = [
    RGBColor(0, 80, 180),
    RGBColor(0, 150, 200),
    RGBColor(0, 140, 80),
    RGBColor(90, 170, 30),
    RGBColor(80, 60, 200),
    RGBColor(215, 25, 28),
    RGBColor(235, 120, 20),
    RGBColor(150, 70, 160),
    RGBColor(150, 90, 40),
    RGBColor(220, 40, 140),
    RGBColor(100, 100, 100),
];

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;
type Failure = Box<dyn std::error::Error>;

const WIDTH: u32 = 1200;
const TITLE: u32 = 64;
const HEADER: u32 = 26;
const ROW: u32 = 88;
const AXIS: u32 = 34;
const WORST: u32 = 500;
const FOOTER: u32 = 44;
const NAMES: u32 = 200;

/// Draws the picture into `path`; `bound` gives the static bound of a picture-heap wrapper.
pub fn draw(
    path: &Path,
    bands: &[Band],
    calls: &[&Call],
    bound: &dyn Fn(Op, &str) -> Option<Bound>,
    most: usize,
) -> Result<(), Failure> {
    let rows = SUBJECTS.len() as u32;
    let height = TITLE + HEADER + ROW * rows + AXIS + WORST + FOOTER;
    let root = SVGBackend::new(path, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let font = |size: u32| ("sans-serif", size).into_font();
    root.draw(&Text::new(
        "detalloc: the same instructions per call at any fill. Every alloc and free counted (callgrind)",
        (12, 10),
        font(20),
    ))?;
    root.draw(&Text::new(
        format!(
            "while a heap fills from empty to {} blocks live and drains back: detalloc heaps \
             [16 x 1024, 64 x 1024, 256 x 1024], the others 8 MiB arenas, the same requests \
             (8–256 B)",
            most - 1
        ),
        (12, 38),
        font(13),
    ))?;
    let (_, rest) = root.split_vertically(TITLE);
    let (header, rest) = rest.split_vertically(HEADER);
    let (strips, rest) = rest.split_vertically(ROW * rows + AXIS);
    let (worst, footer) = rest.split_vertically(WORST);
    let (names, columns) = strips.split_horizontally(NAMES);
    let (alloc, free) = columns.split_horizontally((WIDTH - NAMES) / 2);
    let column_width = ((WIDTH - NAMES) / 2) as i32;
    for (i, title) in ["allocate", "free"].iter().enumerate() {
        let at = Pos::new(HPos::Center, VPos::Center);
        let x = NAMES as i32 + column_width * i as i32 + column_width / 2 + 22;
        header.draw(&Text::new(title.to_string(), (x, 14), TextStyle::from(font(16)).pos(at)))?;
    }
    // One log scale for every strip: up to the decade above the 99.9th percentile of all calls
    // (a band above it is cut there, its maximum written); the worst panel shows every maximum.
    let mut all: Vec<u64> = calls.iter().map(|c| c.own()).collect();
    all.sort_unstable();
    let q999 = all.get(all.len() * 999 / 1000).copied().unwrap_or(10).max(10);
    let top = 10f64.powf((q999 as f64).log10().ceil());
    let bottom = all.first().copied().unwrap_or(1).max(1) as f64 / 1.4;
    for (column, op) in [(&alloc, Op::Alloc), (&free, Op::Free)] {
        let (upper, last) = column.split_vertically(ROW * (rows - 1));
        let mut cells = upper.split_evenly((rows as usize - 1, 1));
        cells.push(last);
        for (i, cell) in cells.iter().enumerate() {
            strip(cell, bands, i, op, (bottom, top), most, i + 1 == rows as usize)?;
        }
    }
    for (i, (s, color)) in SUBJECTS.iter().zip(COLORS).enumerate() {
        let y = (ROW * i as u32 + ROW / 2) as i32;
        names.draw(&Rectangle::new([(8, y - 14), (22, y - 2)], color.filled()))?;
        let at = Pos::new(HPos::Left, VPos::Center);
        names.draw(&Text::new(
            s.label.to_string(),
            (28, y - 8),
            TextStyle::from(font(13)).pos(at),
        ))?;
        let of = |op: Op| {
            let (lo, _, hi) = spread(
                calls.iter().filter(|c| c.key == s.key && c.op == op).map(|c| c.own()).collect(),
            );
            range(lo, hi)
        };
        let counts = format!("alloc {}, free {}", of(Op::Alloc), of(Op::Free));
        names.draw(&Text::new(counts, (28, y + 10), TextStyle::from(font(11)).pos(at)))?;
    }
    worst_panel(&root, &worst, calls, bound)?;
    let notes = [
        "Strips: the fewest to the most instructions of the calls in each 1/64 of the live-block axis (filling and draining together), the line their median; \
         one log scale for all, cut at the decade above the 99.9th percentile.",
        "Bars: the worst call over the whole run, the black mark detalloc-audit's static bound of the same wrapper. * critical_section: the host's std mutex \
         is not counted (the audit assumes it at 0).",
    ];
    for (i, note) in notes.iter().enumerate() {
        footer.draw(&Text::new(note.to_string(), (12, 6 + 18 * i as i32), font(11)))?;
    }
    root.present()?;
    Ok(())
}

/// One allocator's strip: its band (min–max) and its median line against blocks live.
fn strip(
    area: &Area<'_>,
    bands: &[Band],
    index: usize,
    op: Op,
    (bottom, top): (f64, f64),
    most: usize,
    last: bool,
) -> Result<(), Failure> {
    let (s, color) = (&SUBJECTS[index], COLORS[index]);
    let mut chart = ChartBuilder::on(area)
        .margin_top(3)
        .margin_bottom(3)
        .margin_right(14)
        .x_label_area_size(if last { AXIS } else { 0 })
        .y_label_area_size(44)
        .build_cartesian_2d(0f64..most as f64, (bottom..top).log_scale())?;
    let mut mesh = chart.configure_mesh();
    mesh.y_labels(4)
        .y_label_formatter(&|v| format!("{v:.0}"))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .label_style(("sans-serif", 11))
        .max_light_lines(0)
        .bold_line_style(RGBColor(215, 215, 215));
    if last {
        mesh.x_desc("blocks live before the call");
    }
    mesh.draw()?;
    let mine: Vec<&Band> = bands.iter().filter(|b| b.key == s.key && b.op == op).collect();
    let centre = |b: &Band| (b.from + b.to) as f64 / 2.0;
    let y = |v: u64| (v as f64).min(top);
    let mut outline: Vec<(f64, f64)> = mine.iter().map(|b| (centre(b), y(b.max))).collect();
    outline.extend(mine.iter().rev().map(|b| (centre(b), y(b.min))));
    chart.draw_series(std::iter::once(Polygon::new(outline, color.mix(0.22).filled())))?;
    for edge in [|b: &Band| b.max, |b: &Band| b.min] {
        let points = mine.iter().map(|b| (centre(b), y(edge(b))));
        chart.draw_series(LineSeries::new(points, color.mix(0.6).stroke_width(1)))?;
    }
    let medians = mine.iter().map(|b| (centre(b), y(b.median)));
    chart.draw_series(LineSeries::new(medians, color.stroke_width(2)))?;
    if let Some(cut) = mine.iter().filter(|b| b.max as f64 > top).max_by_key(|b| b.max) {
        let at = Pos::new(HPos::Left, VPos::Top);
        let style = TextStyle::from(("sans-serif", 11).into_font()).pos(at);
        let text = format!("cut: max {}", cut.max);
        chart.draw_series(std::iter::once(Text::new(text, (centre(cut) + 30.0, top), style)))?;
    }
    Ok(())
}

/// The worst call of each allocator (alloc and free), the static bound marked.
fn worst_panel(
    root: &Area<'_>,
    area: &Area<'_>,
    calls: &[&Call],
    bound: &dyn Fn(Op, &str) -> Option<Bound>,
) -> Result<(), Failure> {
    let rows = SUBJECTS.len() * 2;
    let worst = |key: &str, op: Op| {
        calls.iter().filter(|c| c.key == key && c.op == op).map(|c| c.own()).max().unwrap_or(1)
    };
    let right = calls.iter().map(|c| c.own()).max().unwrap_or(10) as f64 * 30.0;
    let mut chart = ChartBuilder::on(area)
        .caption("the worst call seen, and the static bound (detalloc-audit)", ("sans-serif", 16))
        .margin(10)
        .margin_left(NAMES)
        .x_label_area_size(34)
        .y_label_area_size(0)
        .build_cartesian_2d((1f64..right).log_scale(), 0f64..rows as f64)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc("instructions (log scale)")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .label_style(("sans-serif", 11))
        .max_light_lines(0)
        .draw()?;
    let label = ("sans-serif", 12).into_font();
    for (i, (s, color)) in SUBJECTS.iter().zip(COLORS).enumerate() {
        for (j, op) in [Op::Alloc, Op::Free].into_iter().enumerate() {
            let row = (rows - 1 - (2 * i + j)) as f64;
            let value = worst(s.key, op);
            let style = if j == 0 { color.filled() } else { color.mix(0.5).filled() };
            let bar = [(1.0, row + 0.15), (value as f64, row + 0.85)];
            chart.draw_series(std::iter::once(Rectangle::new(bar, style)))?;
            let name = format!("{} {}", s.key, op.name());
            let (x, y) = chart.backend_coord(&(1.0, row + 0.5));
            let at = Pos::new(HPos::Right, VPos::Center);
            root.draw(&Text::new(name, (x - 6, y), TextStyle::from(label.clone()).pos(at)))?;
            let mut text = format!("{value}");
            let mut end = value;
            match bound(op, s.key) {
                Some(b) if b.bounded => {
                    let mark = [(b.insns as f64, row), (b.insns as f64, row + 1.0)];
                    chart.draw_series(std::iter::once(PathElement::new(
                        mark,
                        BLACK.stroke_width(2),
                    )))?;
                    let _ = write!(text, "   (static bound {})", b.insns);
                    end = end.max(b.insns);
                }
                Some(b) => {
                    let _ = write!(text, "   (static: {b})");
                }
                None => {}
            }
            let at = (end as f64 * 1.12, row + 0.5);
            let style = TextStyle::from(label.clone()).pos(Pos::new(HPos::Left, VPos::Center));
            chart.draw_series(std::iter::once(Text::new(text, at, style)))?;
        }
    }
    Ok(())
}
