//! The conversation's insights: its scores over time as a small chart, and the latest summary. Drawn on the
//! server as SVG inside a `<details>`, so it reads (and opens) the same without JavaScript; the chart has a
//! text alternative naming every score.

use leptos::prelude::*;

use crate::server_fns::chat::InsightView;

const WIDTH: f64 = 320.0;
const HEIGHT: f64 = 90.0;
const PAD: f64 = 8.0;

/// Where each score sits in the chart, left (oldest) to right.
fn points(scores: &[i32]) -> Vec<(f64, f64)> {
    let step = if scores.len() > 1 { (WIDTH - 2.0 * PAD) / (scores.len() - 1) as f64 } else { 0.0 };
    scores
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let x = if scores.len() == 1 { WIDTH / 2.0 } else { PAD + step * i as f64 };
            (x, HEIGHT - PAD - (f64::from(*s) / 100.0) * (HEIGHT - 2.0 * PAD))
        })
        .collect()
}

#[component]
pub(super) fn InsightsPanel(insights: Vec<InsightView>) -> impl IntoView {
    if insights.is_empty() {
        return None;
    }
    let scored: Vec<(i32, String)> = insights
        .iter()
        .filter_map(|i| Some((i.score?, i.created_at.get(..10).unwrap_or_default().to_owned())))
        .collect();
    let scores: Vec<i32> = scored.iter().map(|(s, _)| *s).collect();
    let latest = insights.iter().rev().find(|i| i.state == "done");
    let pending = insights.iter().any(|i| i.state == "queued" || i.state == "running");
    let label = match scores.last() {
        Some(last) => format!(
            "Scores over time, oldest first: {}. Latest: {last} out of 100.",
            scores.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        ),
        None => "No scores yet.".to_owned(),
    };
    let summary_line = match scores.last() {
        Some(last) => format!("Insights: latest score {last} of 100"),
        None => "Insights".to_owned(),
    };
    let at = points(&scores);
    let line = at.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect::<Vec<_>>().join(" ");
    let dots = at
        .iter()
        .zip(&scored)
        .map(|((x, y), (score, day))| {
            view! { <circle cx=format!("{x:.1}") cy=format!("{y:.1}") r="3.5"><title>{format!("{score} on {day}")}</title></circle> }
        })
        .collect_view();
    Some(view! {
        <details class="insights">
            <summary>{summary_line}</summary>
            <figure>
                <svg
                    class="insights-chart"
                    viewBox=format!("0 0 {WIDTH} {HEIGHT}")
                    role="img"
                    aria-label=label.clone()
                    preserveAspectRatio="none"
                >
                    <line class="insights-mid" x1="0" x2=WIDTH.to_string() y1=(HEIGHT / 2.0).to_string() y2=(HEIGHT / 2.0).to_string()/>
                    <polyline class="insights-line" points=line/>
                    <g class="insights-dots">{dots}</g>
                </svg>
                <figcaption class="muted">{label}</figcaption>
            </figure>
            {latest.and_then(|l| l.summary.clone()).map(|summary| view! {
                <p class="insights-summary"><strong>"Latest summary: "</strong>{summary}</p>
            })}
            {pending.then(|| view! { <p class="muted">"An analysis is in progress; reload to see it."</p> })}
        </details>
    })
}

#[cfg(test)]
mod tests {
    use super::points;

    #[test]
    fn scores_run_left_to_right_and_high_is_up() {
        let at = points(&[0, 100]);
        assert!(at[0].0 < at[1].0, "oldest on the left");
        assert!(at[1].1 < at[0].1, "a higher score is drawn higher");
        assert_eq!(points(&[50]).len(), 1);
    }
}
