//! The Slack digest, posted to a real HTTP server on loopback that captures the request: one
//! message per report with the counts, the worst regression and a link; the webhook URL is
//! never written into a file; a failed post warns and leaves the exit status alone.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use common::Project;
use common::report::{CELLS, Noise, project, write_cell};

/// What the server received: request line and body.
struct Captured {
    request_line: String,
    content_type: String,
    body: String,
}

/// Serves one HTTP request on 127.0.0.1 and answers 200 `ok`, as Slack does.
fn capture_one() -> (u16, mpsc::Receiver<Captured>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        let (mut length, mut content_type) = (0usize, String::new());
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap(),
                "content-type" => content_type = value.trim().to_string(),
                _ => {}
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let mut stream = stream;
        stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok").unwrap();
        tx.send(Captured { request_line: request_line.trim().to_string(), content_type, body: String::from_utf8(body).unwrap() }).unwrap();
    });
    (port, rx)
}

/// A project with baselines and, now, a 40% slower `read-s`.
fn regressed() -> Project {
    let p = project("");
    let mut noise = Noise::new(17);
    for c in CELLS {
        write_cell(&p, c, &noise.samples(8, 10.0, 0.02), Some(&noise.samples(8, 1000.0, 0.02)));
    }
    p.run(&["report", "--no-history"]).ok();
    p.run(&["baseline", "update"]).ok();
    write_cell(&p, "read-s", &noise.samples(8, 14.0, 0.02), Some(&noise.samples(8, 1000.0, 0.02)));
    p
}

#[test]
fn issue_7_one_digest_per_report_reaches_the_webhook() {
    let p = regressed();
    let (port, rx) = capture_one();
    let url = format!("http://127.0.0.1:{port}/services/T0/B0/s3cr3t-token");
    let run = common::Run::from(p.cmd(&["report"]).env("LOADBUILD_SLACK_WEBHOOK", &url).output().unwrap()).code(1);
    assert!(run.stderr.contains("posted the digest to Slack"), "{}", run.stderr);
    let got = rx.recv_timeout(Duration::from_secs(10)).expect("the server received a request");
    assert_eq!(got.request_line, "POST /services/T0/B0/s3cr3t-token HTTP/1.1");
    assert_eq!(got.content_type, "application/json");
    let msg: serde_json::Value = serde_json::from_str(&got.body).unwrap();
    let text = msg["text"].as_str().unwrap();
    assert!(text.contains("loadbuild `all` on `local`: 1 regression, 4 unchanged, 1 skipped"), "{text}");
    let blocks = msg["blocks"].to_string();
    assert!(blocks.contains("*Worst regressions*") && blocks.contains("`read-s` wall_time_s +4"), "{blocks}");
    let index = std::fs::canonicalize(p.path().join("report/index.html")).unwrap();
    assert!(blocks.contains(&index.display().to_string()), "the digest links the report: {blocks}");
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err(), "one message per report");
    // The URL is a secret: no file of the report and no line of output holds it.
    for f in ["index.html", "summary.md", "junit.xml", "results.json", "metrics.prom"] {
        assert!(!p.read(&format!("report/{f}")).contains("s3cr3t"), "report/{f} holds the webhook URL");
    }
    assert!(!run.stderr.contains("s3cr3t") && !run.stdout.contains("s3cr3t"));
}

#[test]
fn issue_7_a_failed_post_warns_and_keeps_the_exit_status() {
    let p = regressed();
    // A port nobody listens on any more.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/services/T0/B0/s3cr3t-token");
    let run = common::Run::from(p.cmd(&["report"]).env("LOADBUILD_SLACK_WEBHOOK", &url).output().unwrap()).code(1);
    assert!(run.stderr.contains("warning: the Slack digest was not posted"), "{}", run.stderr);
    assert!(run.stderr.contains("`127.0.0.1`"), "the error names the host: {}", run.stderr);
    assert!(!run.stderr.contains("s3cr3t"), "but never the secret path: {}", run.stderr);
}
