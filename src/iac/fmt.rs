//! The one rule of `terraform fmt` that hcl-rs's formatter does not apply: the `=` of
//! consecutive one-line attributes are aligned in a column. Without it `terraform fmt -check`
//! would fail on every generated file.
//!
//! As Terraform's formatter (hclwrite) does: a line is in a run when it assigns (`name = value`)
//! and its value closes every bracket it opens; any other line (blank, a block, a value spanning
//! lines) ends the run; within a run every `=` moves to one column after the longest name.

/// `text` with the `=` of each run of one-line attributes aligned.
pub(crate) fn align_equals(text: &str) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let assigns: Vec<Option<(usize, usize)>> = lines.iter().map(|l| assignment(l)).collect();
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let Some(_) = assigns[i] else {
            out.push(lines[i].to_owned());
            i += 1;
            continue;
        };
        let start = i;
        while i < lines.len() && assigns[i].is_some() {
            i += 1;
        }
        let width = (start..i).filter_map(|j| assigns[j]).map(|(lead, _)| lead).max().unwrap_or(0);
        for j in start..i {
            let (lead, eq) = assigns[j].expect("in the run");
            let line = lines[j];
            out.push(format!("{}{}{}", &line[..lead], " ".repeat(width - lead + 1), &line[eq..]));
        }
    }
    out.join("\n")
}

/// For a line that assigns a one-line value: the length of the name (with its indent, without
/// trailing spaces) and the index of the `=`.
fn assignment(line: &str) -> Option<(usize, usize)> {
    let mut in_string = false;
    let mut escaped = false;
    let mut eq = None;
    let mut depth: i32 = 0;
    for (i, c) in line.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '=' if eq.is_none() && i > 0 => {
                // `==`, `<=`, `>=`, `!=`, `=>` are operators, not an assignment.
                let next = line[i + 1..].chars().next();
                let prev = line[..i].chars().last();
                if matches!(next, Some('=' | '>')) || matches!(prev, Some('=' | '<' | '>' | '!')) {
                    return None;
                }
                eq = Some(i);
            }
            '(' | '[' | '{' if eq.is_some() => depth += 1,
            ')' | ']' | '}' if eq.is_some() => depth -= 1,
            _ => {}
        }
    }
    let eq = eq?;
    let lead = line[..eq].trim_end().len();
    (depth == 0 && lead > 0 && !line[..lead].trim().is_empty()).then_some((lead, eq))
}

#[cfg(test)]
mod tests {
    use super::align_equals;

    #[test]
    fn runs_of_one_line_attributes_align_and_anything_else_ends_a_run() {
        let input = "resource \"a\" \"b\" {\n  name = \"x\"\n  port_number = 80\n  tags = {\n    \"k:v\" = \"a=b\"\n    team = \"t\"\n  }\n  after = [1, 2]\n\n  last = {}\n}\n";
        let want = "resource \"a\" \"b\" {\n  name        = \"x\"\n  port_number = 80\n  tags = {\n    \"k:v\" = \"a=b\"\n    team  = \"t\"\n  }\n  after = [1, 2]\n\n  last = {}\n}\n";
        assert_eq!(align_equals(input), want);
        assert_eq!(align_equals(want), want, "aligning twice changes nothing");
    }
}
