//! Trends and change points per cell × metric over the history plus this report: Mann–Kendall
//! and Theil–Sen on each metric's medians, and change points (shown, never gating).
use std::collections::{HashMap, HashSet};

use rayon::prelude::*;

use super::analyze::Series;
use super::history::{HistoryCell, HistoryRun};
use super::model::*;
use crate::loadfile::ReportSettings;
use crate::metrics::Direction;
use crate::stats::{self, ChangePointConfig};

/// Trends and change points per cell × metric over the history plus this report.
///
/// A point is one distinct measurement: a cell whose metrics output digest was already seen
/// (the same cached result in a later report, or in another tier's report) adds no point.
pub(super) fn trends(cells: &mut [CellResult], history: &[HistoryRun], runs: &[HistoryRunInfo], s: &ReportSettings) -> Vec<Vec<Series>> {
    let mut by_cell: HashMap<&str, Vec<(usize, &HistoryCell)>> = HashMap::new();
    for (ri, run) in history.iter().enumerate() {
        for c in &run.cells {
            by_cell.entry(c.cell.as_str()).or_default().push((ri, c));
        }
    }
    let cp_cfg = ChangePointConfig { window: 50, max_p: 0.001, min_magnitude: s.threshold / 2.0 };
    cells
        .par_iter_mut()
        .map(|cell| {
            let past = by_cell.get(cell.id.as_str()).map(Vec::as_slice).unwrap_or(&[]);
            let digest = cell.metrics_digest.clone();
            let failed = cell.status == CellStatus::Failed;
            cell.metrics
                .iter_mut()
                .map(|m| {
                    let mut seen: HashSet<&str> = HashSet::new();
                    let mut series: Series = Vec::new();
                    for (ri, hc) in past {
                        if let Some(p) = hc.metrics.get(&m.name)
                            && seen.insert(hc.digest.as_str())
                        {
                            series.push((Some(*ri), p.median));
                        }
                    }
                    if let (Some(sum), Some(d), false) = (&m.summary, &digest, failed)
                        && !seen.contains(d.as_str())
                    {
                        series.push((None, sum.median));
                    }
                    m.trend = trend_of(&series, m.direction, runs, s.alpha, &cp_cfg);
                    series
                })
                .collect()
        })
        .collect()
}

fn trend_of(
    series: &[(Option<usize>, f64)],
    direction: Direction,
    runs: &[HistoryRunInfo],
    alpha: f64,
    cp: &ChangePointConfig,
) -> Option<TrendOut> {
    if series.len() < 3 {
        return None;
    }
    let ys: Vec<f64> = series.iter().map(|p| p.1).collect();
    let mk = stats::mann_kendall(&ys).ok();
    let ts = stats::theil_sen(&ys).ok();
    let median = stats::median(&ys).ok().filter(|m| *m != 0.0);
    let slope_relative = ts.zip(median).map(|(t, m)| t.slope / m.abs());
    let worse = |up: bool| match direction {
        Direction::LowerIsBetter => up,
        Direction::HigherIsBetter => !up,
    };
    let trend_dir = match (mk, slope_relative) {
        (Some(k), Some(sl)) if k.p_value < alpha && sl != 0.0 => {
            if worse(sl > 0.0) {
                "worsening"
            } else {
                "improving"
            }
        }
        _ => "flat",
    };
    let change_points = stats::change_points(&ys, cp)
        .unwrap_or_default()
        .into_iter()
        .map(|c| {
            let (run, commit, recorded_at) = match series[c.index].0 {
                Some(ri) => (runs[ri].run.clone(), runs[ri].commit.clone(), Some(runs[ri].recorded_at.clone())),
                None => ("this".to_string(), None, None),
            };
            let rel = c.relative_change();
            ChangePointOut {
                run,
                commit,
                recorded_at,
                relative_change: rel,
                p_value: c.p_value,
                effect: if worse(rel > 0.0) { "worse" } else { "better" }.into(),
            }
        })
        .collect();
    Some(TrendOut {
        points: series.len(),
        slope_relative,
        mann_kendall_p: mk.map(|k| k.p_value),
        direction: trend_dir.into(),
        change_points,
    })
}
