//! Out-of-memory evidence in failure texts: JVM heap exhaustion and containers killed for memory.
//!
//! Spark reports an OOM in different words depending on who noticed it: the executor JVM
//! (`java.lang.OutOfMemoryError`), Kubernetes (`OOMKilled`, exit code 137) or YARN.

/// Substrings that show an out-of-memory condition, matched case-sensitively as Spark prints them.
const MARKERS: [&str; 4] = ["OutOfMemoryError", "OOMKilled", "exit code 137", "exceeding memory limits"];

/// The first marker found in `text`, if any.
pub(crate) fn evidence(text: &str) -> Option<&'static str> {
    MARKERS.into_iter().find(|m| text.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heap_and_container_kills_count_but_plain_failures_do_not() {
        let heap = "java.lang.OutOfMemoryError: Java heap space\n\tat org.apache…";
        assert_eq!(evidence(heap), Some("OutOfMemoryError"));
        let k8s = "The executor with id 3 exited with exit code 137(SIGKILL, possible container OOM).";
        assert_eq!(evidence(k8s), Some("exit code 137"));
        assert_eq!(evidence("ValueError: injected failure"), None);
    }
}
