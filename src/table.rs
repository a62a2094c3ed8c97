//! Tables for people and tab-separated rows for scripts. Every cell is escaped here, so no
//! value from outside can forge a row or a column. A table wider than the terminal gives
//! way by one rule (the README's): ADDED keeps its date only, then EMAIL is left out, then
//! names are cut with `…`, then addresses wrap after a `.`, `/` or `:`. Nothing else ever
//! cuts a value: comfy-table lays out what this module fitted and wraps nothing itself, and
//! a table that still does not fit is printed whole (the terminal wraps its lines).

use comfy_table::{Attribute, Cell, Color, ContentArrangement, Table, presets};
use regcred_core::escape;

/// How tables are drawn: colour, and the width to fit (none in a pipe).
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    pub width: Option<usize>,
}

/// How a column gives way when its table is wider than the terminal. `fit` applies these
/// in the order of the variants, each only as far as needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Give {
    /// `2026-11-23 15:45` becomes `2026-11-23`.
    DateOnly,
    /// Left out (the information is in `show` and in `-o plain`/`json`).
    Drop,
    /// Cut to no fewer than this many characters (or the header's), ending in `…`.
    Truncate(usize),
    /// Prose: wrapped after its spaces, never inside a word.
    Words,
    /// Wrapped after a `.`, `/` or `:`, never elsewhere.
    Wrap,
    /// Always shown whole.
    Never,
}

/// The narrowest a cut name becomes when nothing else helps (`hub-c…`).
const LAST_RESORT: usize = 6;

/// The characters an address or image reference may be wrapped after.
const BREAKS: [char; 3] = ['.', '/', ':'];

/// One column of a table, before it is fitted.
pub struct Column {
    header: &'static str,
    give: Give,
    cells: Vec<String>,
    /// Per row; empty for a column without colour.
    colors: Vec<Option<Color>>,
}

impl Column {
    /// A column of these cells, each escaped.
    pub fn new<S: AsRef<str>>(header: &'static str, give: Give, cells: impl IntoIterator<Item = S>) -> Self {
        let cells = cells.into_iter().map(|c| escape(c.as_ref()).into_owned()).collect();
        Column { header, give, cells, colors: Vec::new() }
    }

    /// Colours per row (`None`: the terminal's default), applied only when the style colours.
    pub fn colors(mut self, colors: impl IntoIterator<Item = Option<Color>>) -> Self {
        self.colors = colors.into_iter().collect();
        self
    }
}

/// Renders columns with a header row, fitted to `style.width`.
pub fn columns(columns: Vec<Column>, style: Style) -> String {
    let columns = fit(columns, style.width);
    let mut table = table(style);
    table.set_header(columns.iter().map(|c| header(c.header, style)));
    let rows = columns.first().map_or(0, |c| c.cells.len());
    for row in 0..rows {
        table.add_row(columns.iter().map(|c| {
            let cell = Cell::new(&c.cells[row]);
            match c.colors.get(row).copied().flatten().filter(|_| style.color) {
                Some(color) => cell.fg(color),
                None => cell,
            }
        }));
    }
    render(&table)
}

/// Renders `key value` rows (`show`), keys bold when colouring; values are whole and escaped.
pub fn pairs<K: AsRef<str>>(rows: impl IntoIterator<Item = (K, String, Option<Color>)>, style: Style) -> String {
    let mut table = table(style);
    for (key, value, color) in rows {
        let cell = Cell::new(escape(&value));
        let cell = match color.filter(|_| style.color) {
            Some(color) => cell.fg(color),
            None => cell,
        };
        table.add_row(vec![header(key.as_ref(), style), cell]);
    }
    render(&table)
}

/// Tab-separated rows for `-o plain`: every field escaped, so a tab or a newline in a value
/// (a username, a secret) shows as `\t`/`\n` and cannot forge a field or a row.
pub fn plain<R, F>(rows: impl IntoIterator<Item = R>) -> String
where
    R: IntoIterator<Item = F>,
    F: AsRef<str>,
{
    let mut text = String::new();
    for row in rows {
        for (n, field) in row.into_iter().enumerate() {
            if n > 0 {
                text.push('\t');
            }
            text.push_str(&escape(field.as_ref()));
        }
        text.push('\n');
    }
    text
}

fn table(style: Style) -> Table {
    let mut table = Table::new();
    // comfy-table never wraps: the cells are fitted here, by the documented rule.
    table.load_style(presets::NOTHING).set_content_arrangement(ContentArrangement::Disabled);
    if style.color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    table
}

fn header(text: &str, style: Style) -> Cell {
    let cell = Cell::new(text);
    if style.color { cell.add_attribute(Attribute::Bold) } else { cell }
}

/// A table without the trailing blanks comfy-table pads lines with.
fn render(table: &Table) -> String {
    let mut text = String::new();
    for line in table.trim_fmt().lines() {
        // A styled last cell (the bold header) keeps its padding inside the styling, out of
        // trim_fmt's reach.
        match line.strip_suffix("\x1b[0m") {
            Some(body) => {
                text.push_str(body.trim_end());
                text.push_str("\x1b[0m");
            }
            None => text.push_str(line),
        }
        text.push('\n');
    }
    text
}

/// The widest line these columns make: each is padded by a space on either side, and the
/// last one's trailing space is trimmed by `render`.
fn table_width(columns: &[Column]) -> usize {
    columns.iter().map(|c| column_width(c) + 2).sum::<usize>().saturating_sub(1)
}

fn column_width(column: &Column) -> usize {
    column
        .cells
        .iter()
        .flat_map(|c| c.lines())
        .map(|l| l.chars().count())
        .chain([column.header.chars().count()])
        .max()
        .unwrap_or(0)
}

/// The narrowest a column may become by its rule.
fn minimum(column: &Column) -> usize {
    let header = column.header.chars().count();
    let longest_piece = |pieces: fn(&str) -> Vec<&str>| {
        column.cells.iter().flat_map(|c| pieces(c)).map(|p| p.trim_end().chars().count()).max().unwrap_or(0)
    };
    match column.give {
        Give::Truncate(min) => min.max(header),
        Give::Wrap => longest_piece(|c| c.split_inclusive(BREAKS).collect()).max(header),
        Give::Words => longest_piece(|c| c.split_inclusive(' ').collect()).max(header),
        _ => column_width(column),
    }
}

/// Makes the columns fit `width` (no limit when `None`): shorter dates, then columns left
/// out, then truncation to the columns' minimums, then wrapping, then truncation down to
/// the headers; cutting and wrapping take from the widest column of
/// their kind first. A table that cannot fit by these steps stays wider than `width`.
fn fit(mut columns: Vec<Column>, width: Option<usize>) -> Vec<Column> {
    let Some(width) = width else { return columns };
    if table_width(&columns) > width {
        for column in columns.iter_mut().filter(|c| c.give == Give::DateOnly) {
            column.cells.iter_mut().for_each(|c| *c = c.chars().take(10).collect());
        }
    }
    while table_width(&columns) > width {
        let Some(index) = columns.iter().position(|c| c.give == Give::Drop) else { break };
        columns.remove(index);
    }
    shrink(&mut columns, width, |give| matches!(give, Give::Truncate(_)), minimum);
    shrink(&mut columns, width, |give| matches!(give, Give::Wrap | Give::Words), minimum);
    // Still too wide: names are cut further, down to their headers (or six characters).
    let last_resort = |c: &Column| c.header.chars().count().max(LAST_RESORT).min(minimum(c));
    shrink(&mut columns, width, |give| matches!(give, Give::Truncate(_)), last_resort);
    columns
}

/// Narrows the columns `chosen` picks, one character at a time from the widest, down to
/// their minimums, until the table fits; then reshapes their cells.
fn shrink(columns: &mut [Column], width: usize, chosen: fn(Give) -> bool, minimum: impl Fn(&Column) -> usize) {
    let mut targets: Vec<Option<usize>> = columns.iter().map(|c| chosen(c.give).then(|| column_width(c))).collect();
    let minimums: Vec<usize> = columns.iter().map(minimum).collect();
    let mut total = table_width(columns);
    while total > width {
        let widest = targets
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.filter(|&t| t > minimums[i]).map(|t| (t, i)))
            .max_by_key(|&(t, i)| (t, std::cmp::Reverse(i)));
        let Some((_, index)) = widest else { break };
        targets[index] = targets[index].map(|t| t - 1);
        total -= 1;
    }
    for (column, target) in columns.iter_mut().zip(targets) {
        let Some(target) = target.filter(|&t| t < column_width(column)) else { continue };
        let give = column.give;
        column.cells.iter_mut().for_each(|c| {
            *c = match give {
                Give::Truncate(_) => truncate(c, target),
                Give::Words => wrap(c, target, &[' ']),
                _ => wrap(c, target, &BREAKS),
            }
        });
    }
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Breaks `text` into lines of at most `width` characters, only after one of `breaks`
/// (`registry.internal.` / `example.com:` / `5000/team`). A piece longer than `width`
/// stays whole on its own line; `fit` never asks for less than the longest piece.
fn wrap(text: &str, width: usize, breaks: &[char]) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for piece in text.split_inclusive(breaks) {
        let joined = line.chars().count() + piece.trim_end().chars().count();
        if line.is_empty() || joined <= width {
            line.push_str(piece);
            continue;
        }
        lines.push(std::mem::take(&mut line).trim_end().to_owned());
        line.push_str(piece);
    }
    lines.push(line.trim_end().to_owned());
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns_of(cells: &[(&'static str, Give, &str)]) -> Vec<Column> {
        cells.iter().map(|(header, give, cell)| Column::new(header, *give, [*cell])).collect()
    }

    #[test]
    fn wrap_breaks_only_after_dots_slashes_and_colons() {
        let wrapped = wrap("registry.internal.example-corporation.com:5000/platform", 23, &BREAKS);
        assert_eq!(wrapped, "registry.internal.\nexample-corporation.\ncom:5000/platform");
        assert_eq!(wrap("quay.io/myorg", 20, &BREAKS), "quay.io/myorg");
        assert_eq!(wrap("localhost:5443/team", 13, &BREAKS), "localhost:\n5443/team");
        // Never inside a piece, even when asked for less.
        assert_eq!(wrap("abcdefghij", 4, &BREAKS), "abcdefghij");
        assert_eq!(wrap("not used: deactivated", 10, &[' ']), "not used:\ndeactivated");
    }

    #[test]
    fn truncate_ends_in_an_ellipsis() {
        assert_eq!(truncate("myorg+deploy-robot", 8), "myorg+d…");
        assert_eq!(truncate("bob", 8), "bob");
    }

    #[test]
    fn cells_are_escaped() {
        let column = Column::new("USERNAME", Give::Never, ["bob\t1\n\x1b[31m"]);
        assert_eq!(column.cells, [r"bob\t1\n\x1b[31m"]);
        assert_eq!(plain([["a\tb", "c\nd"]]), "a\\tb\tc\\nd\n");
    }

    #[test]
    fn fit_leaves_a_table_that_fits_alone() {
        let fitted = fit(columns_of(&[("ID", Give::Never, "1"), ("EMAIL", Give::Drop, "a@example.com")]), Some(80));
        assert_eq!(fitted.len(), 2);
        assert_eq!(fitted[1].cells[0], "a@example.com");
        let fitted = fit(columns_of(&[("ADDED", Give::DateOnly, "2026-11-23 15:45")]), None);
        assert_eq!(fitted[0].cells[0], "2026-11-23 15:45");
    }

    #[test]
    fn fit_gives_way_in_order_and_only_as_far_as_needed() {
        let table = || {
            columns_of(&[
                ("ID", Give::Never, "12"),
                ("NAME", Give::Truncate(12), "a-rather-long-credential-name"),
                ("ADDRESS", Give::Wrap, "registry.internal.example-corporation.com:5000/platform"),
                ("EMAIL", Give::Drop, "platform-team@example-corporation.com"),
                ("ADDED", Give::DateOnly, "2026-11-23 15:45"),
            ])
        };
        let full = table_width(&table());
        // A little too wide: only the time goes.
        let fitted = fit(table(), Some(full - 6));
        assert_eq!(fitted.len(), 5);
        assert_eq!(fitted[4].cells[0], "2026-11-23");
        // Narrower: the e-mail goes too, then the name is cut, then the address wraps.
        let fitted = fit(table(), Some(60));
        let headers: Vec<_> = fitted.iter().map(|c| c.header).collect();
        assert_eq!(headers, ["ID", "NAME", "ADDRESS", "ADDED"]);
        assert_eq!(fitted[1].cells[0], "a-rather-lo…");
        assert_eq!(fitted[2].cells[0].replace('\n', ""), "registry.internal.example-corporation.com:5000/platform");
        assert!(table_width(&fitted) <= 60, "{}", table_width(&fitted));
        // Narrower than the rule can go: every value is still whole or cut by the rule.
        let fitted = fit(table(), Some(20));
        assert_eq!(fitted[2].cells[0], "registry.internal.\nexample-corporation.\ncom:5000/platform");
        assert_eq!(fitted[1].cells[0], "a-rat…");
        assert_eq!(fitted[3].cells[0], "2026-11-23");
    }
}
