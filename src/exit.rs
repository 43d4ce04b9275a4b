//! The process exit codes, in a leaf module: the command line returns them and the report
//! derives one from its verdicts, so neither has to import the other.

/// Success: built, nothing regressed.
pub const EXIT_OK: u8 = 0;
/// The report found a regression or a guard breach.
pub const EXIT_REGRESSION: u8 = 1;
/// Bad input (Loadfile, rules, arguments): the message names the file and line.
pub const EXIT_BAD_INPUT: u8 = 2;
/// A node failed, or the cache could not be used.
pub const EXIT_FAILED: u8 = 3;
/// Interrupted (Ctrl-C): what had finished is recorded, nothing is published.
pub const EXIT_INTERRUPTED: u8 = 130;
