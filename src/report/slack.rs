//! The Slack digest: one message per report to an incoming webhook — counts, the worst
//! regressions, failed cells, and where the report is. The webhook URL comes from the
//! environment only and is never written into a file; a failed post is a warning, never a
//! failed build.
use std::time::Duration;

use serde_json::{Value, json};

use super::analyze::{fmt_p, pct};
use super::model::{CellStatus, MetricVerdict, Results, badness};

/// Regressions and failures named in the digest; the rest are counted.
const WORST: usize = 5;

/// The webhook payload: `text` (notifications, and clients without blocks) and Block Kit blocks.
pub fn digest(r: &Results, link: &str) -> Value {
    let headline = super::render::markdown::headline(r);
    let icon = match r.exit_code() {
        0 => ":white_check_mark:",
        1 => ":rotating_light:",
        _ => ":x:",
    };
    let title = format!("{icon} loadbuild `{}` on `{}`: {headline}", r.run.tier, r.run.backend);
    let mut blocks = vec![json!({ "type": "section", "text": { "type": "mrkdwn", "text": title } })];
    let mut worst: Vec<_> = r
        .cells
        .iter()
        .filter(|c| c.status == CellStatus::Regression)
        .flat_map(|c| c.metrics.iter().filter(|m| m.verdict == MetricVerdict::Regression).map(move |m| (c, m)))
        .collect();
    worst.sort_by(|a, b| badness(b.1).total_cmp(&badness(a.1)));
    if !worst.is_empty() {
        let mut lines: Vec<String> = worst
            .iter()
            .take(WORST)
            .map(|(c, m)| {
                format!(
                    "• `{}` {} {} (adjusted p {})",
                    c.id,
                    m.name,
                    m.relative_change.map_or("?".into(), pct),
                    m.adjusted_p.map_or("?".into(), fmt_p)
                )
            })
            .collect();
        if worst.len() > WORST {
            lines.push(format!("… and {} more", worst.len() - WORST));
        }
        blocks
            .push(json!({ "type": "section", "text": { "type": "mrkdwn", "text": format!("*Worst regressions*\n{}", lines.join("\n")) } }));
    }
    let failed: Vec<_> = r.cells_with(CellStatus::Failed).collect();
    if !failed.is_empty() {
        let mut lines: Vec<String> = failed
            .iter()
            .take(WORST)
            .map(|c| format!("• `{}`: {}", c.id, c.reason.as_deref().unwrap_or("failed").chars().take(160).collect::<String>()))
            .collect();
        if failed.len() > WORST {
            lines.push(format!("… and {} more", failed.len() - WORST));
        }
        blocks.push(json!({ "type": "section", "text": { "type": "mrkdwn", "text": format!("*Failed cells*\n{}", lines.join("\n")) } }));
    }
    blocks.push(json!({ "type": "context", "elements": [{ "type": "mrkdwn", "text": format!("Report: {link} · run `{}`", r.run.id) }] }));
    json!({ "text": title, "blocks": blocks })
}

/// Posts `payload` to `url`; the error names the host only (webhook paths are secrets).
pub fn post(url: &str, payload: &Value) -> Result<(), String> {
    let host = reqwest::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_else(|| "(unparsable URL)".into());
    crate::http::ensure_tls();
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| format!("starting the HTTP runtime: {e}"))?;
    runtime.block_on(async {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(15)).build().map_err(|e| format!("HTTP client: {e}"))?;
        let body = serde_json::to_vec(payload).expect("JSON values serialize");
        let resp = client
            .post(url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| format!("posting to `{host}`: {}", without_url(&e)))?;
        let status = resp.status();
        if !status.is_success() {
            let text = resp.text().await.unwrap_or_default();
            return Err(format!("`{host}` answered {status}: {}", text.chars().take(200).collect::<String>()));
        }
        Ok(())
    })
}

/// reqwest's error text without the URL it carries.
fn without_url(e: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut parts = vec![if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "cannot connect".to_string()
    } else {
        "request failed".to_string()
    }];
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    parts.join(": ")
}
