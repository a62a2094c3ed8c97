//! Where everything regcred says goes, and how it looks: stdout is data, stderr is for
//! people (`warning:`, `error:`, `hint:` and progress lines), colour, `-q`, the output
//! format and the terminal's width. Modelled on cargo's `Shell`: a failed write to stdout is
//! an error, a closed pipe (`regcred list | head -1`) ends the command quietly, and whatever
//! came from outside is escaped before it reaches a terminal.

use std::fmt::Display;
use std::io::{ErrorKind, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use comfy_table::Color;
use regcred_core::escape;

use crate::cli::{ColorChoice, Format, OutputArgs};
use crate::exit::Failure;

/// Output settings decided once per process, and the streams they apply to.
pub struct Shell {
    color: bool,
    quiet: bool,
    stdout_tty: bool,
    /// Set when stdout turned out to be a closed pipe: the reader has what it wanted.
    stdout_closed: AtomicBool,
}

impl Shell {
    pub fn new(choice: ColorChoice, quiet: bool) -> Self {
        let stdout_tty = std::io::stdout().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => stdout_tty && !no_color,
        };
        Shell { color, quiet, stdout_tty, stdout_closed: AtomicBool::new(false) }
    }

    /// The format asked for, else a table on a terminal and plain lines in a pipe.
    pub fn format(&self, args: OutputArgs) -> Format {
        args.output.unwrap_or(if self.stdout_tty { Format::Table } else { Format::Plain })
    }

    /// Whether output is coloured (`--color`, `NO_COLOR`, a terminal).
    pub fn color(&self) -> bool {
        self.color
    }

    /// The width tables fit: `$COLUMNS` wins (as with ls and git), then the terminal's own
    /// width; in a pipe tables are not fitted at all.
    pub fn width(&self) -> Option<usize> {
        if let Some(columns) = std::env::var("COLUMNS").ok().and_then(|c| c.parse::<u16>().ok()).filter(|&w| w > 0) {
            return Some(columns.into());
        }
        if !self.stdout_tty {
            return None;
        }
        terminal_size::terminal_size().map(|(terminal_size::Width(w), _)| w.into())
    }

    /// How tables are drawn on this shell.
    pub fn table_style(&self) -> crate::table::Style {
        crate::table::Style { color: self.color, width: self.width() }
    }

    /// Data on stdout, byte for byte (a rendered view, a docker config, a manifest). `-q`
    /// never suppresses it. A write that fails is an error (exit 1); a closed pipe is an
    /// error too, but one that `main` ends quietly with status 0, as `head` wanted no more.
    pub fn data(&self, text: &str) -> Result<(), Failure> {
        if self.stdout_closed.load(Ordering::Relaxed) {
            return Err(closed_pipe());
        }
        let mut stdout = std::io::stdout().lock();
        match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::BrokenPipe => {
                self.stdout_closed.store(true, Ordering::Relaxed);
                Err(closed_pipe())
            }
            Err(e) => Err(Failure::operational(format!("cannot write to stdout: {}", escape(&e.to_string())))
                .hint("check where the output goes: a full disk, a closed file, a device that refuses writes")),
        }
    }

    /// Whether a write found stdout closed by its reader (`| head -1`): then the command
    /// ends with status 0 and says nothing.
    pub fn stdout_closed(&self) -> bool {
        self.stdout_closed.load(Ordering::Relaxed)
    }

    /// A line for people about what happened, on stderr so stdout stays data. `-q`
    /// silences it. Escaped whole: a message is one line.
    pub fn info(&self, message: impl Display) {
        if !self.quiet {
            stderr_line("", &message);
        }
    }

    /// `warning: …` on stderr; `-q` silences it.
    pub fn warn(&self, message: impl Display) {
        if !self.quiet {
            stderr_line("warning: ", &message);
        }
    }

    /// The warnings a lower layer returned as data (a store file readable by others, …).
    pub fn warn_all<W: Display>(&self, warnings: impl IntoIterator<Item = W>) {
        for warning in warnings {
            self.warn(warning);
        }
    }

    /// `error:` and `hint:` lines on stderr; `-q` never silences them.
    pub fn error(&self, failure: &Failure) {
        report(failure);
    }

    /// Colour for a mark or a word, when this shell colours.
    pub fn paint(&self, text: &str, color: Color) -> String {
        if !self.color {
            return text.to_owned();
        }
        let code = match color {
            Color::Green => "32",
            Color::Red => "31",
            Color::Yellow => "33",
            _ => "90",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    /// `✓`/`✗`, green/red when this shell colours.
    pub fn mark(&self, ok: bool) -> String {
        if ok { self.paint("✓", Color::Green) } else { self.paint("✗", Color::Red) }
    }
}

/// One line on stderr, escaped: a message quoting a username, a path or `REGCRED_ENV`
/// cannot move the cursor, start a forged line or reorder what follows. A failed write to
/// stderr has nowhere to be reported and is dropped.
fn stderr_line(prefix: &str, message: &dyn Display) {
    let text = message.to_string();
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{prefix}{}", escape(&text));
}

/// Prints a failure as `error:` and `hint:` lines on stderr (also for code that has no
/// `Shell`, such as a failure to build one).
pub fn report(failure: &Failure) {
    stderr_line("error: ", &failure.message);
    if let Some(hint) = &failure.hint {
        stderr_line("hint: ", hint);
    }
}

fn closed_pipe() -> Failure {
    Failure::operational("stdout is closed")
}

/// Lines of text for people on stdout (`--explain`, `verify`, `doctor`): each line is
/// escaped whole as it is added, and marks are painted after escaping.
#[derive(Default)]
pub struct Lines {
    text: String,
}

impl Lines {
    pub fn new() -> Self {
        Lines::default()
    }

    /// A line; whatever it holds is escaped, so a value cannot start another line.
    pub fn line(&mut self, line: impl Display) {
        self.text.push_str(&escape(&line.to_string()));
        self.text.push('\n');
    }

    /// A line that starts with a painted mark (`shell.mark(ok)`), then text escaped whole.
    pub fn marked(&mut self, indent: &str, mark: &str, line: impl Display) {
        self.text.push_str(indent);
        self.text.push_str(mark);
        self.text.push(' ');
        self.line(line);
    }

    pub fn blank(&mut self) {
        self.text.push('\n');
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_escape_what_they_hold_and_keep_their_marks() {
        let mut lines = Lines::new();
        lines.line("bob\nhint: forged\u{202e}");
        lines.marked("  ", "\x1b[32m✓\x1b[0m", "1 alice\t@ quay.io");
        assert_eq!(lines.as_str(), "bob\\nhint: forged\\u{202e}\n  \x1b[32m✓\x1b[0m 1 alice\\t@ quay.io\n");
    }
}
