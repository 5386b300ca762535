//! A comparison as Markdown (the table in `docs/benchmarks.md`) and as an
//! SVG chart of the Eddy/peer ratio per metric and peer, drawn by hand: no
//! plotting dependency for one bar chart.

use std::fmt::Write;
use std::path::Path;

use super::plan::Better;
use super::{MetricResult, PeerValue, Report};

/// Markdown: the machine, one table of every metric, the commands.
pub fn markdown(report: &Report, chart_file: &str) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "Run of {} on {}.\n",
        report.date,
        report.machine.one_line()
    );
    let _ = writeln!(
        md,
        "Versions: {}.\n",
        report
            .versions
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let peers = &report.peers;
    md.push_str("| scenario | metric | Eddy |");
    for p in peers {
        let _ = write!(md, " {} |", p.label());
    }
    for p in peers {
        let _ = write!(md, " Eddy / {} |", short(p.label()));
    }
    md.push_str("\n|---|---|---:|");
    md.push_str(&"---:|".repeat(peers.len() * 2));
    md.push('\n');
    let columns = 3 + peers.len() * 2;
    for s in &report.scenarios {
        if let Some(why) = &s.skipped {
            let _ = writeln!(
                md,
                "| {} | *skipped: {why}* |{}",
                s.name,
                " |".repeat(columns - 2)
            );
            continue;
        }
        for m in &s.metrics {
            let arrow = match m.better {
                Better::Higher => "↑",
                Better::Lower => "↓",
            };
            let _ = write!(
                md,
                "| {} | {} {arrow} | {} |",
                s.name,
                m.name,
                value_text(m.eddy, m.unit)
            );
            for p in &m.peers {
                let _ = write!(md, " {} |", value_text(p.value, m.unit));
            }
            for p in &m.peers {
                let _ = write!(md, " {} |", ratio_cell(m, p));
            }
            md.push('\n');
        }
    }
    md.push_str(
        "\n↑ higher is better, ↓ lower is better; a ratio in **bold** is better for Eddy by more \
         than 5 %, in *italics* worse by more than 5 %. Sweeps: the highest offered rate at \
         which every message arrived within the run with p99 under the bound (the steps, and \
         which side ran out of CPU, are in the JSON).\n\n",
    );
    let notes: Vec<String> = report
        .scenarios
        .iter()
        .flat_map(|s| s.problems.iter().map(move |p| format!("- {}: {p}", s.name)))
        .collect();
    if !notes.is_empty() {
        md.push_str("\nIncomplete runs (their numbers are still shown):\n\n");
        md.push_str(&notes.join("\n"));
        md.push('\n');
    }
    let _ = writeln!(md, "\n![Eddy / each peer per metric]({chart_file})\n");
    md.push_str("Commands:\n\n```sh\n");
    let _ = writeln!(md, "{}", report.command);
    for s in &report.scenarios {
        for line in s.servers.iter().chain(&s.loadgen) {
            let _ = writeln!(md, "{line}");
        }
    }
    md.push_str("```\n");
    md
}

fn number(v: f64) -> String {
    if v >= 100.0 {
        // Thousands separated, no decimals.
        let digits = format!("{:.0}", v);
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        out
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A peer's label without its qualifier, for column heads.
fn short(label: &str) -> &str {
    label.split(' ').next().unwrap_or(label)
}

fn value_text(v: f64, unit: &str) -> String {
    if v.is_finite() {
        format!("{} {unit}", number(v))
    } else {
        "–".into()
    }
}

fn ratio_cell(m: &MetricResult, p: &PeerValue) -> String {
    let text = ratio_text(p.ratio);
    match verdict(m.better, p.ratio) {
        Verdict::Eddy => format!("**{text}**"),
        Verdict::Peer => format!("*{text}*"),
        Verdict::Even | Verdict::None => text,
    }
}

fn ratio_text(r: f64) -> String {
    if r.is_finite() {
        format!("{r:.2}×")
    } else {
        "–".into()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Eddy,
    Peer,
    Even,
    /// No ratio (a side gave no number).
    None,
}

/// Whether Eddy did better, worse, or the same (within 5 %).
fn verdict(better: Better, ratio: f64) -> Verdict {
    match eddy_gain(better, ratio) {
        Some(g) if g > 1.05 => Verdict::Eddy,
        Some(g) if g < 1.0 / 1.05 => Verdict::Peer,
        Some(_) => Verdict::Even,
        None => Verdict::None,
    }
}

/// The ratio turned so that above 1 is always good for Eddy.
fn eddy_gain(better: Better, ratio: f64) -> Option<f64> {
    if !ratio.is_finite() || ratio <= 0.0 {
        return None;
    }
    Some(match better {
        Better::Higher => ratio,
        Better::Lower => 1.0 / ratio,
    })
}

const WIDTH: f64 = 1000.0;
const LABEL: f64 = 420.0;
const RIGHT: f64 = 90.0;
const ROW: f64 = 26.0;
const TOP: f64 = 56.0;
/// The axis spans 1/16 × … 16 × on a log scale.
const SPAN: f64 = 4.0;

/// One horizontal bar per metric and peer: Eddy's value over the peer's,
/// on a log axis centred on 1. Green where that is good for Eddy, red
/// where not.
pub fn svg(report: &Report) -> String {
    let rows: Vec<(String, Better, f64)> = report
        .scenarios
        .iter()
        .filter(|s| s.skipped.is_none())
        .flat_map(|s| {
            s.metrics.iter().flat_map(move |m| {
                m.peers.iter().map(move |p| {
                    (
                        format!("{} · {} vs {}", s.name, m.name, short(p.peer.label())),
                        m.better,
                        p.ratio,
                    )
                })
            })
        })
        .collect();
    let height = TOP + ROW * rows.len() as f64 + 40.0;
    let plot = WIDTH - LABEL - RIGHT;
    let x = |ratio: f64| LABEL + plot * (ratio.log2().clamp(-SPAN, SPAN) + SPAN) / (2.0 * SPAN);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="system-ui, sans-serif" font-size="13">"#
    );
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
    let _ = writeln!(
        s,
        r##"<text x="12" y="22" font-size="15" font-weight="600" fill="#111">Eddy / each peer, {}</text>"##,
        escape(&report.date)
    );
    let _ = writeln!(
        s,
        r##"<text x="12" y="40" fill="#555">{}. Green: better for Eddy; red: worse; grey: within 5 % (higher is better for rates, lower for latency and cost).</text>"##,
        escape(&format!("{} CPUs", report.machine.cpus))
    );
    // Grid: 1/16 … 16, the 1× line darker.
    let bottom = TOP + ROW * rows.len() as f64;
    for e in -(SPAN as i32)..=(SPAN as i32) {
        let r = 2f64.powi(e);
        let gx = x(r);
        let (stroke, w) = if e == 0 { ("#333", 1.5) } else { ("#ddd", 1.0) };
        let _ = writeln!(
            s,
            r#"<line x1="{gx:.1}" y1="{TOP}" x2="{gx:.1}" y2="{bottom}" stroke="{stroke}" stroke-width="{w}"/>"#
        );
        let label = if e >= 0 {
            format!("{}×", 1u32 << e)
        } else {
            format!("1/{}", 1u32 << -e)
        };
        let _ = writeln!(
            s,
            r##"<text x="{gx:.1}" y="{:.1}" text-anchor="middle" fill="#555">{label}</text>"##,
            bottom + 18.0
        );
    }
    for (i, (label, better, ratio)) in rows.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#111">{}</text>"##,
            LABEL - 10.0,
            y + ROW * 0.65,
            escape(label)
        );
        let colour = match verdict(*better, *ratio) {
            Verdict::None => continue,
            Verdict::Eddy => "#2f9e44",
            Verdict::Peer => "#e03131",
            Verdict::Even => "#868e96",
        };
        let (x0, x1) = (x(1.0), x(*ratio));
        let _ = writeln!(
            s,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{colour}"/>"#,
            x0.min(x1),
            y + 5.0,
            (x1 - x0).abs().max(1.0),
            ROW - 10.0
        );
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" fill="#111">{}</text>"##,
            WIDTH - RIGHT + 10.0,
            y + ROW * 0.65,
            ratio_text(*ratio)
        );
    }
    s.push_str("</svg>\n");
    s
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Replaces what lies between the results markers of `docs/benchmarks.md`.
pub fn splice(doc: &str, section: &str) -> Option<String> {
    const BEGIN: &str = "<!-- compare-results-begin -->";
    const END: &str = "<!-- compare-results-end -->";
    let start = doc.find(BEGIN)? + BEGIN.len();
    let end = doc[start..].find(END)? + start;
    Some(format!(
        "{}\n{}\n{}",
        &doc[..start],
        section.trim_end(),
        &doc[end..]
    ))
}

/// `target` as seen from the folder of `doc` (both relative to the repo root).
pub fn relative(doc: &Path, target: &Path) -> String {
    let depth = doc.parent().map_or(0, |p| p.components().count());
    let mut out = "../".repeat(depth);
    out.push_str(&target.to_string_lossy());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::servers::Kind;
    use crate::compare::{Machine, ScenarioResult};

    fn report() -> Report {
        let metric = |name: &'static str, better, eddy: f64, node: f64| MetricResult {
            name,
            unit: "x",
            better,
            eddy,
            peers: vec![
                PeerValue {
                    peer: Kind::Node,
                    value: node,
                    ratio: eddy / node,
                },
                PeerValue {
                    peer: Kind::Socketioxide,
                    value: f64::NAN,
                    ratio: f64::NAN,
                },
            ],
        };
        Report {
            date: "2026-11-27".into(),
            command: "benches/compare".into(),
            machine: Machine::describe(),
            versions: [("node".to_owned(), "v20".to_owned())].into(),
            peers: vec![Kind::Node, Kind::Socketioxide],
            scenarios: vec![ScenarioResult {
                name: "echo".into(),
                what: "w".into(),
                skipped: None,
                problems: vec![],
                servers: vec!["eddy serve".into()],
                loadgen: vec!["loadgen echo".into()],
                metrics: vec![
                    metric("acks/s", Better::Higher, 2000.0, 1000.0),
                    metric("p99", Better::Lower, 2000.0, 1000.0),
                    metric("same", Better::Lower, 1000.0, 1010.0),
                ],
                outcomes: Default::default(),
            }],
        }
    }

    #[test]
    fn the_table_says_who_did_better_per_metric() {
        let md = markdown(&report(), "chart.svg");
        assert!(
            md.contains("| scenario | metric | Eddy | Node Socket.IO | socketioxide | Eddy / Node | Eddy / socketioxide |"),
            "{md}"
        );
        assert!(
            md.contains("| echo | acks/s ↑ | 2,000 x | 1,000 x | – | **2.00×** | – |"),
            "{md}"
        );
        assert!(
            md.contains("| echo | p99 ↓ | 2,000 x | 1,000 x | – | *2.00×* | – |"),
            "{md}"
        );
        assert!(
            md.contains("| same ↓ | 1,000 x | 1,010 x | – | 0.99× | – |"),
            "{md}"
        );
        assert!(md.contains("![Eddy / each peer per metric](chart.svg)"));
        assert!(md.contains("loadgen echo"));
    }

    #[test]
    fn bars_are_green_when_good_for_eddy_and_red_when_not() {
        let svg = svg(&report());
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("#2f9e44").count(), 1, "acks/s is better");
        assert_eq!(svg.matches("#e03131").count(), 1, "p99 is worse");
        assert_eq!(svg.matches("#868e96").count(), 1, "`same` is even");
        assert!(svg.contains("echo · acks/s vs Node"));
        // No bar where a peer gave no number.
        assert_eq!(svg.matches("<rect").count(), 1 + 3);
    }

    #[test]
    fn the_docs_section_is_replaced_between_markers_only() {
        let doc =
            "intro\n<!-- compare-results-begin -->\nold\n<!-- compare-results-end -->\nrest\n";
        let new = splice(doc, "new table\n").unwrap();
        assert_eq!(
            new,
            "intro\n<!-- compare-results-begin -->\nnew table\n<!-- compare-results-end -->\nrest\n"
        );
        assert!(splice("no markers", "x").is_none());
    }

    #[test]
    fn big_numbers_get_separators() {
        assert_eq!(number(1234567.4), "1,234,567");
        assert_eq!(number(123.0), "123");
        assert_eq!(number(12.345), "12.3");
        assert_eq!(number(1.2345), "1.23");
    }

    #[test]
    fn the_chart_path_is_relative_to_the_docs() {
        assert_eq!(
            relative(
                Path::new("docs/benchmarks.md"),
                Path::new("benches/results/x.svg")
            ),
            "../benches/results/x.svg"
        );
    }
}
