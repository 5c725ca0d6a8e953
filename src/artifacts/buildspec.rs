//! `imageDetail.json` and the buildspec change that produces it.
//!
//! The rolling `ECS` deploy action reads `imagedefinitions.json`; `CodeDeployToECS` reads
//! `imageDetail.json` (`{"ImageURI": "..."}`) plus the `taskdef.json` and `appspec.yml`
//! templates, all from the build's output artifact.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{ArtifactError, yaml};

/// File name `CodeDeployToECS` reads the image from (fixed by AWS).
pub const IMAGE_DETAIL_FILE: &str = "imageDetail.json";
/// File name the rolling `ECS` deploy action reads by default.
pub const IMAGE_DEFINITIONS_FILE: &str = "imagedefinitions.json";
/// Shell expression for the pushed image in AWS's tutorial buildspec.
pub const DEFAULT_IMAGE_URI_EXPR: &str = "\"$REPOSITORY_URI:$IMAGE_TAG\"";

/// The content of `imageDetail.json`.
///
/// ```
/// use ecs_bluegreen::artifacts::ImageDetail;
/// let d = ImageDetail::new("123456789012.dkr.ecr.us-east-1.amazonaws.com/web:abc1234");
/// assert_eq!(d.to_json(), "{\"ImageURI\":\"123456789012.dkr.ecr.us-east-1.amazonaws.com/web:abc1234\"}\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageDetail {
    /// The image the deployment runs, as the container's `image` (`repo:tag` or `repo@digest`).
    #[serde(rename = "ImageURI")]
    pub image_uri: String,
}

impl ImageDetail {
    /// An image detail for `image_uri`.
    pub fn new(image_uri: impl Into<String>) -> Self {
        Self { image_uri: image_uri.into() }
    }
    /// Compact JSON with a trailing newline, as the build writes it.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string(self).expect("a struct of strings always serialises");
        s.push('\n');
        s
    }
}

impl fmt::Display for ImageDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

/// The buildspec change for `CodeDeployToECS`: a `post_build` command writing
/// `imageDetail.json` instead of `imagedefinitions.json`, and the `artifacts.files` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildspecSnippet {
    /// Shell expression of the pushed image, used when the patched buildspec's own
    /// expression cannot be read. Default: [`DEFAULT_IMAGE_URI_EXPR`].
    pub image_uri_expr: String,
    /// What `artifacts.files` lists. Default: `imageDetail.json`, `taskdef.json`, `appspec.yml`
    /// (the last two must be the deploy action's template paths).
    pub artifact_files: Vec<String>,
    /// The file the old command wrote. Default: [`IMAGE_DEFINITIONS_FILE`] (the `ECS` action's
    /// `FileName` when it was set).
    pub replaces: String,
}

impl Default for BuildspecSnippet {
    fn default() -> Self {
        Self {
            image_uri_expr: DEFAULT_IMAGE_URI_EXPR.to_owned(),
            artifact_files: vec![IMAGE_DETAIL_FILE.into(), "taskdef.json".into(), "appspec.yml".into()],
            replaces: IMAGE_DEFINITIONS_FILE.to_owned(),
        }
    }
}

/// A patched buildspec and what the patch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildspecPatch {
    /// The whole patched file.
    pub text: String,
    /// What changed and what to check by hand, one sentence each.
    pub notes: Vec<String>,
}

/// Rewrites a `buildspec.yml` for `CodeDeployToECS` with the default [`BuildspecSnippet`]: see
/// [`BuildspecSnippet::patch`].
///
/// ```
/// let before = "version: 0.2\nphases:\n  post_build:\n    commands:\n      - docker push $REPOSITORY_URI:$IMAGE_TAG\n      - printf '[{\"name\":\"web\",\"imageUri\":\"%s\"}]' $REPOSITORY_URI:$IMAGE_TAG > imagedefinitions.json\nartifacts:\n  files: imagedefinitions.json\n";
/// let after = ecs_bluegreen::artifacts::patch_buildspec(before)?;
/// assert!(after.contains("      - printf '{\"ImageURI\":\"%s\"}' \"$REPOSITORY_URI:$IMAGE_TAG\" > imageDetail.json\n"));
/// assert!(after.ends_with("  files:\n    - imageDetail.json\n    - taskdef.json\n    - appspec.yml\n"));
/// # Ok::<(), ecs_bluegreen::artifacts::ArtifactError>(())
/// ```
///
/// # Errors
/// [`ArtifactError::Buildspec`] when the text is not a buildspec this patcher can edit.
pub fn patch_buildspec(text: &str) -> Result<String, ArtifactError> {
    BuildspecSnippet::default().patch(text).map(|p| p.text)
}

impl BuildspecSnippet {
    /// The `post_build` command, e.g.
    /// `printf '{"ImageURI":"%s"}' "$REPOSITORY_URI:$IMAGE_TAG" > imageDetail.json`.
    pub fn post_build_command(&self) -> String {
        command_for(&self.image_uri_expr)
    }

    /// A commented YAML snippet with the command and the `artifacts.files` list.
    pub fn to_yaml(&self) -> String {
        snippet_yaml(
            "CodeDeployToECS (blue/green)",
            &self.replaces,
            "(taskdef.json and appspec.yml are the generated\n# templates; commit them next to buildspec.yml).",
            &self.post_build_command(),
            &self.artifact_files,
        )
    }

    /// Rewrites a `buildspec.yml` textually, keeping every other line (comments, blank lines,
    /// indentation, other phases and keys) as it is:
    ///
    /// - each command that writes the old file (`>` or `tee` with its name) is replaced by the
    ///   `imageDetail.json` command, reusing the image expression the old command wrote
    ///   (`printf`'s argument for `imageUri`, or the value after `imageUri`) when it can be
    ///   read; further writers are removed; commands that only read the old file read
    ///   `imageDetail.json` instead;
    /// - with no writer, the command is appended to `phases.post_build.commands` (created if
    ///   missing);
    /// - `artifacts.files` becomes exactly [`Self::artifact_files`]; other `artifacts` keys
    ///   (`discard-paths`, `secondary-artifacts`, ...) stay.
    ///
    /// # Errors
    /// [`ArtifactError::Buildspec`] when there is no top-level `phases:` mapping, or
    /// `post_build.commands`, `artifacts` or the old command is written in flow style.
    pub fn patch(&self, text: &str) -> Result<BuildspecPatch, ArtifactError> {
        Rewrite {
            replaces: &self.replaces,
            writes: IMAGE_DETAIL_FILE,
            image_key: "imageUri",
            default_expr: &self.image_uri_expr,
            artifact_files: &self.artifact_files,
            command: &command_for,
            base_directory_note: format!(
                "artifacts.base-directory is set: the listed files are taken from it, so write {IMAGE_DETAIL_FILE} there and keep the templates there"
            ),
        }
        .patch(text)
    }
}

/// One direction of the textual rewrite: the command writing one image file becomes the
/// command writing the other, and `artifacts.files` lists what the deploy action reads.
struct Rewrite<'a> {
    /// The file the old command wrote.
    replaces: &'a str,
    /// The file the new command writes.
    writes: &'a str,
    /// The JSON key of the image in the old file, to read the old command's expression.
    image_key: &'a str,
    /// The image expression when the old one cannot be read.
    default_expr: &'a str,
    /// What `artifacts.files` becomes.
    artifact_files: &'a [String],
    /// The new command for an image expression.
    command: &'a dyn Fn(&str) -> String,
    /// What to check when `artifacts.base-directory` is set.
    base_directory_note: String,
}

impl Rewrite<'_> {
    fn patch(&self, text: &str) -> Result<BuildspecPatch, ArtifactError> {
        let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
        let final_newline = text.ends_with('\n');
        let mut lines: Vec<String> = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l).to_owned()).collect();
        if final_newline {
            lines.pop();
        }
        let mut notes = Vec::new();

        self.patch_commands(&mut lines, &mut notes)?;
        self.patch_artifacts(&mut lines, &mut notes)?;

        let mut out = lines.join(eol);
        if final_newline || out.is_empty() {
            out.push_str(eol);
        }
        Ok(BuildspecPatch { text: out, notes })
    }

    fn patch_commands(&self, lines: &mut Vec<String>, notes: &mut Vec<String>) -> Result<(), ArtifactError> {
        let writes = self.writes;
        let phases = top_key(lines, "phases").ok_or_else(|| bserr("it has no top-level `phases:` key"))?;
        if !value_is_block(&lines[phases]) {
            return Err(bserr("its `phases:` is written inline; edit it by hand"));
        }
        let phases_end = block_end(lines, phases);

        // A buildspec that already writes imageDetail.json (patched before) gets no second writer.
        let already =
            (phases + 1..phases_end).any(|i| significant(&lines[i]) && writes_file(&lines[i], self.writes));

        // Edits as (first line, end line exclusive, replacement), non-overlapping.
        let mut edits: Vec<(usize, usize, Vec<String>)> = Vec::new();
        let mut wrote_new = already;
        let mut j = phases + 1;
        while j < phases_end {
            let line = &lines[j];
            if !significant(line) || !line.contains(self.replaces) {
                j += 1;
                continue;
            }
            let (start, end, item_indent, block_scalar) = item_of(lines, j, phases);
            if block_scalar || start == j && end == j + 1 && !is_item(line) {
                // One line of a script: edit that line only.
                let ind = indent(line);
                let content = line[ind..].to_owned();
                if writes_file(&content, self.replaces) {
                    if wrote_new {
                        edits.push((j, j + 1, vec![]));
                        notes.push(format!("removed a further command writing {}: {}", self.replaces, content.trim()));
                    } else {
                        let expr = self.expr_from(&content, notes);
                        edits.push((j, j + 1, vec![format!("{}{}", " ".repeat(ind), (self.command)(&expr))]));
                        notes.push(format!(
                            "replaced the command writing {} with one writing {writes}",
                            self.replaces
                        ));
                        wrote_new = true;
                    }
                } else {
                    edits.push((j, j + 1, vec![line.replace(self.replaces, self.writes)]));
                    notes.push(format!("a command reading {} now reads {writes}", self.replaces));
                }
                j += 1;
                continue;
            }
            // A whole list item (plain or quoted scalar, maybe over several lines).
            let command = item_command(&lines[start..end], item_indent)?;
            let comment = trailing_comment(&lines[start..end]);
            if writes_file(&command, self.replaces) {
                if wrote_new {
                    edits.push((start, end, vec![]));
                    notes.push(format!("removed a further command writing {}: {command}", self.replaces));
                } else {
                    let expr = self.expr_from(&command, notes);
                    let new = format!(
                        "{}- {}{}",
                        " ".repeat(item_indent),
                        yaml::plain_or_single(&(self.command)(&expr)),
                        comment.map(|c| format!(" {c}")).unwrap_or_default()
                    );
                    edits.push((start, end, vec![new]));
                    notes.push(format!(
                        "replaced the command writing {} with one writing {writes}",
                        self.replaces
                    ));
                    wrote_new = true;
                }
            } else {
                let new: Vec<String> =
                    lines[start..end].iter().map(|l| l.replace(self.replaces, self.writes)).collect();
                edits.push((start, end, new));
                notes.push(format!("a command reading {} now reads {writes}", self.replaces));
            }
            j = end;
        }
        for (start, end, new) in edits.into_iter().rev() {
            lines.splice(start..end, new);
        }
        if already {
            notes.push(format!("a command already writes {writes}"));
            return Ok(());
        }
        if wrote_new {
            return Ok(());
        }

        // No writer: append to post_build.commands.
        let cmd = (self.command)(self.default_expr);
        notes.push(format!(
            "no command wrote {}; appended the {writes} command to post_build (it uses {}: check that the build sets it)",
            self.replaces, self.default_expr
        ));
        let phases = top_key(lines, "phases").expect("still there");
        let phases_end = block_end(lines, phases);
        let phase_keys = children(lines, phases, phases_end);
        let step = phase_keys.first().map_or(2, |(i, _)| indent(&lines[*i]).max(1));
        let Some(&(pb, _)) = phase_keys.iter().find(|(_, k)| k == "post_build") else {
            let at = last_significant(lines, phases, phases_end) + 1;
            let new = vec![
                format!("{}post_build:", " ".repeat(step)),
                format!("{}commands:", " ".repeat(2 * step)),
                format!("{}- {}", " ".repeat(3 * step), yaml::plain_or_single(&cmd)),
            ];
            lines.splice(at..at, new);
            return Ok(());
        };
        if !value_is_block(&lines[pb]) {
            return Err(bserr("its `post_build:` is written inline; edit it by hand"));
        }
        let pb_end = block_end(lines, pb);
        let pb_ind = indent(&lines[pb]);
        let pb_children = children(lines, pb, pb_end);
        let child_ind = pb_children.first().map_or(pb_ind + step, |(i, _)| indent(&lines[*i]));
        match pb_children.iter().find(|(_, k)| k == "commands") {
            Some(&(c, _)) => {
                if !value_is_block(&lines[c]) {
                    return Err(bserr("its `post_build.commands` is written inline; edit it by hand"));
                }
                let c_end = block_end(lines, c);
                let item_ind = (c + 1..c_end)
                    .find(|i| is_item(&lines[*i]))
                    .map_or(indent(&lines[c]) + step, |i| indent(&lines[i]));
                let at = last_significant(lines, c, c_end) + 1;
                lines.insert(at, format!("{}- {}", " ".repeat(item_ind), yaml::plain_or_single(&cmd)));
            }
            None => {
                let new = vec![
                    format!("{}commands:", " ".repeat(child_ind)),
                    format!("{}- {}", " ".repeat(child_ind + step), yaml::plain_or_single(&cmd)),
                ];
                lines.splice(pb + 1..pb + 1, new);
            }
        }
        Ok(())
    }

    fn patch_artifacts(&self, lines: &mut Vec<String>, notes: &mut Vec<String>) -> Result<(), ArtifactError> {
        let items = |ind: usize| -> Vec<String> {
            self.artifact_files.iter().map(|f| format!("{}- {}", " ".repeat(ind), yaml::plain_or_single(f))).collect()
        };
        let Some(art) = top_key(lines, "artifacts") else {
            if lines.last().is_some_and(|l| !l.trim().is_empty()) {
                lines.push(String::new());
            }
            lines.push("artifacts:".into());
            lines.push("  files:".into());
            lines.extend(items(4));
            notes.push("added an artifacts section".into());
            return Ok(());
        };
        if !value_is_block(&lines[art]) {
            return Err(bserr("its `artifacts:` is written inline; edit it by hand"));
        }
        let art_end = block_end(lines, art);
        let kids = children(lines, art, art_end);
        if kids.iter().any(|(_, k)| k == "base-directory") {
            notes.push(self.base_directory_note.clone());
        }
        let child_ind = kids.first().map_or(2, |(i, _)| indent(&lines[*i]));
        let Some(&(f, _)) = kids.iter().find(|(_, k)| k == "files") else {
            let mut new = vec![format!("{}files:", " ".repeat(child_ind))];
            new.extend(items(child_ind + 2));
            lines.splice(art + 1..art + 1, new);
            notes.push("added artifacts.files".into());
            return Ok(());
        };
        let f_ind = indent(&lines[f]);
        let f_end = last_significant(lines, f, block_end(lines, f)) + 1;
        let item_ind = (f + 1..f_end).find(|i| is_item(&lines[*i])).map_or(f_ind + 2, |i| indent(&lines[i]));
        let (_, rest) = key_of(&lines[f]).expect("a child key");
        let mut new = vec![match rest.starts_with('#') {
            true => format!("{}files: {rest}", " ".repeat(f_ind)),
            false => format!("{}files:", " ".repeat(f_ind)),
        }];
        // Whole-line comments inside the old list stay, above the new items.
        new.extend((f + 1..f_end).map(|i| lines[i].clone()).filter(|l| l.trim_start().starts_with('#')));
        new.extend(items(item_ind));
        lines.splice(f..f_end, new);
        notes.push(format!("artifacts.files now lists {}", self.artifact_files.join(", ")));
        Ok(())
    }

    /// The image expression an old command wrote, or the default (with a note).
    fn expr_from(&self, command: &str, notes: &mut Vec<String>) -> String {
        match image_expr(command, self.image_key) {
            Some(e) => e,
            None => {
                notes.push(format!(
                    "could not read the image expression of the old command; the new one uses {}: check that the build sets it",
                    self.default_expr
                ));
                self.default_expr.to_owned()
            }
        }
    }
}

impl fmt::Display for BuildspecSnippet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_yaml())
    }
}

/// The buildspec change back to the `ECS` deploy action (onward from `CodeDeployToECS`): a
/// `post_build` command writing `imagedefinitions.json` instead of `imageDetail.json`, and the
/// `artifacts.files` list. The reverse of [`BuildspecSnippet`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageDefinitionsSnippet {
    /// The container the image is for: the service's load-balanced container (the `ECS` action
    /// updates the container of this name).
    pub container_name: String,
    /// Shell expression of the pushed image, used when the patched buildspec's own
    /// expression cannot be read. Default: [`DEFAULT_IMAGE_URI_EXPR`].
    pub image_uri_expr: String,
    /// What `artifacts.files` lists. Default: `imagedefinitions.json` (the `ECS` action's
    /// `FileName`); the task definition and AppSpec templates are no longer read.
    pub artifact_files: Vec<String>,
    /// The file the old command wrote. Default: [`IMAGE_DETAIL_FILE`].
    pub replaces: String,
}

impl ImageDefinitionsSnippet {
    /// The snippet for `container_name` with the defaults.
    pub fn new(container_name: impl Into<String>) -> Self {
        Self {
            container_name: container_name.into(),
            image_uri_expr: DEFAULT_IMAGE_URI_EXPR.to_owned(),
            artifact_files: vec![IMAGE_DEFINITIONS_FILE.into()],
            replaces: IMAGE_DETAIL_FILE.to_owned(),
        }
    }

    /// The `post_build` command, e.g.
    /// `printf '[{"name":"web","imageUri":"%s"}]' "$REPOSITORY_URI:$IMAGE_TAG" > imagedefinitions.json`.
    pub fn post_build_command(&self) -> String {
        definitions_command(&self.container_name, &self.image_uri_expr)
    }

    /// A commented YAML snippet with the command and the `artifacts.files` list.
    pub fn to_yaml(&self) -> String {
        snippet_yaml(
            "ECS (rolling or ECS-native blue/green)",
            &self.replaces,
            "(taskdef.json and appspec.yaml are no longer read).",
            &self.post_build_command(),
            &self.artifact_files,
        )
    }

    /// Rewrites a `buildspec.yml` textually the way [`BuildspecSnippet::patch`] does, in the
    /// other direction, keeping every other line as it is:
    ///
    /// - each command that writes the old file (`>` or `tee` with its name) is replaced by the
    ///   `imagedefinitions.json` command for [`Self::container_name`], reusing the image
    ///   expression the old command wrote (`printf`'s argument for `ImageURI`, or the value
    ///   after `ImageURI`) when it can be read; further writers are removed; commands that only
    ///   read the old file read `imagedefinitions.json` instead; a buildspec that writes
    ///   `imagedefinitions.json` already gets no second writer;
    /// - with no writer, the command is appended to `phases.post_build.commands`;
    /// - `artifacts.files` becomes exactly [`Self::artifact_files`]; other keys stay.
    ///
    /// ```
    /// use ecs_bluegreen::artifacts::ImageDefinitionsSnippet;
    /// let before = "phases:\n  post_build:\n    commands:\n      - printf '{\"ImageURI\":\"%s\"}' $REPOSITORY_URI:$IMAGE_TAG > imageDetail.json\nartifacts:\n  files:\n    - imageDetail.json\n    - taskdef.json\n    - appspec.yaml\n";
    /// let after = ImageDefinitionsSnippet::new("web").patch(before)?.text;
    /// assert_eq!(after, "phases:\n  post_build:\n    commands:\n      - printf '[{\"name\":\"web\",\"imageUri\":\"%s\"}]' \"$REPOSITORY_URI:$IMAGE_TAG\" > imagedefinitions.json\nartifacts:\n  files:\n    - imagedefinitions.json\n");
    /// # Ok::<(), ecs_bluegreen::artifacts::ArtifactError>(())
    /// ```
    ///
    /// # Errors
    /// [`ArtifactError::Buildspec`] when the container name is not one ECS allows (letters,
    /// digits, `-`, `_`: the name goes into the command's JSON as it is), there is no
    /// top-level `phases:` mapping, or `post_build.commands`, `artifacts` or the old command is
    /// written in flow style.
    pub fn patch(&self, text: &str) -> Result<BuildspecPatch, ArtifactError> {
        check_container_name(&self.container_name)?;
        let command = |expr: &str| definitions_command(&self.container_name, expr);
        let mut patch = Rewrite {
            replaces: &self.replaces,
            writes: IMAGE_DEFINITIONS_FILE,
            image_key: "ImageURI",
            default_expr: &self.image_uri_expr,
            artifact_files: &self.artifact_files,
            command: &command,
            base_directory_note: format!(
                "artifacts.base-directory is set: the listed files are taken from it, so write {IMAGE_DEFINITIONS_FILE} there"
            ),
        }
        .patch(text)?;
        if text.contains("taskdef.json") || text.contains("appspec.y") {
            patch.notes.push(
                "the ECS action reads neither the task definition nor the AppSpec template: commands preparing them stay, remove them if nothing else needs them".into(),
            );
        }
        Ok(patch)
    }
}

impl fmt::Display for ImageDefinitionsSnippet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_yaml())
    }
}

/// ECS container names: 1–255 letters, digits, hyphens and underscores.
fn check_container_name(name: &str) -> Result<(), ArtifactError> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(bserr(&format!("container name {name:?} is not one ECS allows (1-255 letters, digits, - and _)")))
    }
}

fn definitions_command(container: &str, expr: &str) -> String {
    format!("printf '[{{\"name\":\"{container}\",\"imageUri\":\"%s\"}}]' {expr} > {IMAGE_DEFINITIONS_FILE}")
}

/// The commented snippet of a buildspec change toward the `action` deploy action: the command
/// that replaces the one writing `replaces`, and the exact `artifacts.files` (`files_note`
/// follows "output exactly these files").
fn snippet_yaml(action: &str, replaces: &str, files_note: &str, command: &str, files: &[String]) -> String {
    let mut y = format!("# buildspec.yml changes for the {action} deploy action:\n");
    y.push_str(&format!("# replace the command that writes {replaces} with the one below, and make the build\n"));
    y.push_str(&format!("# output exactly these files {files_note}\n"));
    y.push_str("phases:\n  post_build:\n    commands:\n");
    y.push_str(&format!("      - {}\n", yaml::plain_or_single(command)));
    y.push_str("artifacts:\n  files:\n");
    for f in files {
        y.push_str(&format!("    - {}\n", yaml::plain_or_single(f)));
    }
    y
}

fn bserr(reason: &str) -> ArtifactError {
    ArtifactError::Buildspec { reason: reason.to_owned() }
}

fn command_for(expr: &str) -> String {
    format!("printf '{{\"ImageURI\":\"%s\"}}' {expr} > {IMAGE_DETAIL_FILE}")
}

// ----------------------------------------------------------------------------- line model

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// Neither blank nor a whole-line comment.
fn significant(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && !t.starts_with('#')
}

fn is_item(line: &str) -> bool {
    let t = line.trim_start_matches(' ');
    t == "-" || t.starts_with("- ")
}

/// `key: rest` of a mapping line (not a list item); `rest` is trimmed.
fn key_of(line: &str) -> Option<(&str, &str)> {
    let t = &line[indent(line)..];
    let key_len = t.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'))?;
    if key_len == 0 || is_item(line) {
        return None;
    }
    let after = &t[key_len..];
    let rest = after.strip_prefix(':')?;
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return None;
    }
    Some((&t[..key_len], rest.trim()))
}

/// Whether a key line's value continues on the next lines (nothing but maybe a comment after
/// the colon).
fn value_is_block(line: &str) -> bool {
    key_of(line).is_some_and(|(_, rest)| rest.is_empty() || rest.starts_with('#'))
}

fn top_key(lines: &[String], key: &str) -> Option<usize> {
    lines.iter().position(|l| indent(l) == 0 && significant(l) && key_of(l).is_some_and(|(k, _)| k == key))
}

/// End (exclusive) of the value of the key at line `at`: the first significant line that is
/// less indented, or as indented and not a list item (a sequence may sit at its key's indent).
fn block_end(lines: &[String], at: usize) -> usize {
    let k = indent(&lines[at]);
    (at + 1..lines.len())
        .find(|&i| {
            let l = &lines[i];
            significant(l) && (indent(l) < k || indent(l) == k && !is_item(l))
        })
        .unwrap_or(lines.len())
}

/// The last significant line in `at..end` (`at` itself when there is none after it).
fn last_significant(lines: &[String], at: usize, end: usize) -> usize {
    (at + 1..end).rev().find(|&i| significant(&lines[i])).unwrap_or(at)
}

/// Mapping keys directly under the key at line `at` (value range `at + 1..end`).
fn children(lines: &[String], at: usize, end: usize) -> Vec<(usize, String)> {
    let Some(ind) = (at + 1..end).filter(|&i| significant(&lines[i])).map(|i| indent(&lines[i])).min() else {
        return vec![];
    };
    (at + 1..end)
        .filter(|&i| significant(&lines[i]) && indent(&lines[i]) == ind)
        .filter_map(|i| key_of(&lines[i]).map(|(k, _)| (i, k.to_owned())))
        .collect()
}

/// The list item holding line `j`: `(start, end exclusive, item indent, is block scalar)`.
/// A line outside any item comes back as `(j, j + 1, indent, false)`.
fn item_of(lines: &[String], j: usize, floor: usize) -> (usize, usize, usize, bool) {
    let start = if is_item(&lines[j]) {
        Some(j)
    } else {
        let ind = indent(&lines[j]);
        (floor + 1..j)
            .rev()
            .find(|&i| significant(&lines[i]) && indent(&lines[i]) < ind)
            .filter(|&i| is_item(&lines[i]))
    };
    let Some(start) = start else { return (j, j + 1, indent(&lines[j]), false) };
    let ind = indent(&lines[start]);
    let value = lines[start][ind..].trim_start_matches('-').trim_start();
    let block_scalar = value.starts_with('|') || value.starts_with('>');
    let end =
        (start + 1..lines.len()).find(|&i| significant(&lines[i]) && indent(&lines[i]) <= ind).unwrap_or(lines.len());
    // Trailing blank or comment lines are not part of the item.
    let end = last_significant(lines, start, end) + 1;
    (start, end, ind, block_scalar)
}

/// The command text of a plain or quoted list item spanning `item` lines.
fn item_command(item: &[String], item_indent: usize) -> Result<String, ArtifactError> {
    let first = item[0][item_indent..].trim_start_matches('-').trim();
    let mut parts = vec![first.to_owned()];
    parts.extend(item[1..].iter().map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()));
    let joined = parts.join(" ");
    if joined.starts_with('[') || joined.starts_with('{') {
        return Err(bserr("a command writing the old file is a flow collection; edit it by hand"));
    }
    Ok(if let Some(inner) = joined.strip_prefix('\'') {
        inner.rfind('\'').map_or(inner, |e| &inner[..e]).replace("''", "'")
    } else if let Some(inner) = joined.strip_prefix('"') {
        let body = closing_double_quote(inner).map_or(inner, |e| &inner[..e]);
        body.replace("\\\"", "\"").replace("\\\\", "\\")
    } else {
        strip_comment(&joined).to_owned()
    })
}

/// Index of the first unescaped `"` in `s`.
fn closing_double_quote(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

/// A plain scalar without its ` # comment`.
fn strip_comment(s: &str) -> &str {
    s.find(" #").map_or(s, |i| s[..i].trim_end())
}

/// The ` # comment` at the end of a one-line plain item.
fn trailing_comment(item: &[String]) -> Option<&str> {
    let [line] = item else { return None };
    let value = line.trim_start().trim_start_matches('-').trim_start();
    if value.starts_with(['\'', '"']) {
        return None;
    }
    value.find(" #").map(|i| &value[i + 1..])
}

/// Whether a shell command writes `file` (redirect or `tee`).
fn writes_file(cmd: &str, file: &str) -> bool {
    cmd.match_indices(file).any(|(i, _)| {
        let before = cmd[..i].trim_end_matches(['"', '\'', ' ', '.', '/']);
        before.ends_with('>') || before.ends_with("tee") || before.ends_with("tee -a")
    })
}

/// The image expression an image file's writer uses, as a double-quoted shell word; `key` is
/// the image's JSON key in that file (`imageUri`, `ImageURI`).
fn image_expr(cmd: &str, key: &str) -> Option<String> {
    if let Some(e) = printf_image_arg(cmd, key) {
        return Some(e);
    }
    // `echo "[{\"name\":\"web\",\"imageUri\":\"$REPO:$TAG\"}]" > ...` and the like.
    let at = cmd.find(key)? + key.len();
    let rest = cmd[at..].trim_start_matches(['"', '\'', '\\', ':', ' ']);
    let value: String = rest.chars().take_while(|c| !matches!(c, '"' | '\'' | '\\' | '}' | ',')).collect();
    (value.contains('$') && !value.contains("%s") && !value.contains(char::is_whitespace))
        .then(|| format!("\"{value}\""))
}

/// `printf FORMAT ARGS > file`: the argument matching the `%s` after `key`.
fn printf_image_arg(cmd: &str, key: &str) -> Option<String> {
    let words = shell_words(&cmd[cmd.find("printf")? + "printf".len()..]);
    let (format, args) = words.split_first()?;
    let format = format.trim_matches(['\'', '"']);
    let slots: Vec<usize> = format.match_indices("%s").map(|(i, _)| i).collect();
    let args: Vec<&String> = args.iter().take_while(|w| !w.starts_with(['>', '|'])).collect();
    if slots.is_empty() || slots.len() != args.len() {
        return None;
    }
    let pick = if slots.len() == 1 {
        0
    } else {
        slots.iter().position(|&s| format[..s].trim_end_matches(['"', ':', '\\']).ends_with(key))?
    };
    let arg = args[pick];
    Some(if arg.starts_with(['"', '\'']) { arg.clone() } else { format!("\"{arg}\"") })
}

/// Splits a shell command line into words, keeping quotes; stops at nothing (redirections are
/// words like any other).
fn shell_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match quote {
            Some(q) => {
                cur.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                cur.push(c);
            }
            None if c.is_whitespace() => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            None => cur.push(c),
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet() {
        assert_eq!(
            BuildspecSnippet::default().post_build_command(),
            r#"printf '{"ImageURI":"%s"}' "$REPOSITORY_URI:$IMAGE_TAG" > imageDetail.json"#
        );
        let y = BuildspecSnippet::default().to_yaml();
        assert!(
            y.contains("      - printf '{\"ImageURI\":\"%s\"}' \"$REPOSITORY_URI:$IMAGE_TAG\" > imageDetail.json\n"),
            "{y}"
        );
        assert!(y.ends_with("artifacts:\n  files:\n    - imageDetail.json\n    - taskdef.json\n    - appspec.yml\n"));
    }

    #[test]
    fn reads_the_image_expression() {
        let e = |c: &str| image_expr(c, "imageUri");
        assert_eq!(
            e(r#"printf '[{"name":"web","imageUri":"%s"}]' $REPOSITORY_URI:$IMAGE_TAG > imagedefinitions.json"#)
                .as_deref(),
            Some("\"$REPOSITORY_URI:$IMAGE_TAG\"")
        );
        assert_eq!(
            e(r#"printf '[{"name":"%s","imageUri":"%s"}]' "$CONTAINER" "${REPO}:${TAG}" > imagedefinitions.json"#)
                .as_deref(),
            Some("\"${REPO}:${TAG}\"")
        );
        assert_eq!(
            e(r#"echo "[{\"name\":\"web\",\"imageUri\":\"$IMAGE_URI\"}]" > imagedefinitions.json"#).as_deref(),
            Some("\"$IMAGE_URI\"")
        );
        assert_eq!(e("cat defs.json > imagedefinitions.json"), None);
    }

    #[test]
    fn writer_detection() {
        assert!(writes_file("printf x > imagedefinitions.json", "imagedefinitions.json"));
        assert!(writes_file("printf x >imagedefinitions.json", "imagedefinitions.json"));
        assert!(writes_file("printf x > ./imagedefinitions.json", "imagedefinitions.json"));
        assert!(writes_file("printf x | tee imagedefinitions.json", "imagedefinitions.json"));
        assert!(!writes_file("cat imagedefinitions.json", "imagedefinitions.json"));
    }

    #[test]
    fn refuses_non_buildspecs() {
        assert!(patch_buildspec("version: 0.2\n").unwrap_err().to_string().contains("phases"));
        assert!(patch_buildspec("phases: {}\n").unwrap_err().to_string().contains("inline"));
    }

    #[test]
    fn appends_post_build_and_artifacts_when_missing() {
        let before = "version: 0.2\nphases:\n    build:\n        commands:\n            - make\n";
        let p = BuildspecSnippet::default().patch(before).unwrap();
        assert_eq!(
            p.text,
            "version: 0.2\nphases:\n    build:\n        commands:\n            - make\n    post_build:\n        commands:\n            - printf '{\"ImageURI\":\"%s\"}' \"$REPOSITORY_URI:$IMAGE_TAG\" > imageDetail.json\n\nartifacts:\n  files:\n    - imageDetail.json\n    - taskdef.json\n    - appspec.yml\n"
        );
        assert!(p.notes.iter().any(|n| n.contains("no command wrote")), "{:?}", p.notes);
    }

    #[test]
    fn appends_to_existing_post_build_commands_at_key_indent() {
        let before = "phases:\n  post_build:\n    commands:\n    - docker push x\n    # trailing comment\n  # phase comment\nartifacts:\n  discard-paths: yes\n";
        let after = patch_buildspec(before).unwrap();
        assert_eq!(
            after,
            "phases:\n  post_build:\n    commands:\n    - docker push x\n    - printf '{\"ImageURI\":\"%s\"}' \"$REPOSITORY_URI:$IMAGE_TAG\" > imageDetail.json\n    # trailing comment\n  # phase comment\nartifacts:\n  files:\n    - imageDetail.json\n    - taskdef.json\n    - appspec.yml\n  discard-paths: yes\n"
        );
    }

    #[test]
    fn block_scalar_script_line_is_replaced_in_place_and_crlf_kept() {
        let before = "phases:\r\n  post_build:\r\n    commands:\r\n      - |\r\n        docker push $URI\r\n        printf '[{\"name\":\"web\",\"imageUri\":\"%s\"}]' $URI > imagedefinitions.json\r\n        cat imagedefinitions.json\r\nartifacts:\r\n  files: [imagedefinitions.json]\r\n";
        let after = patch_buildspec(before).unwrap();
        assert_eq!(
            after,
            "phases:\r\n  post_build:\r\n    commands:\r\n      - |\r\n        docker push $URI\r\n        printf '{\"ImageURI\":\"%s\"}' \"$URI\" > imageDetail.json\r\n        cat imageDetail.json\r\nartifacts:\r\n  files:\r\n    - imageDetail.json\r\n    - taskdef.json\r\n    - appspec.yml\r\n"
        );
    }

    #[test]
    fn quoted_and_multi_line_items() {
        let before = "phases:\n  build:\n    commands:\n      - \"printf '[{\\\"name\\\":\\\"web\\\",\\\"imageUri\\\":\\\"%s\\\"}]' $IMG > imagedefinitions.json\"\n      - printf '[{\"name\":\"web\",\"imageUri\":\"%s\"}]'\n        $IMG >> imagedefinitions.json\n      - echo done # note\n";
        let p = BuildspecSnippet::default().patch(before).unwrap();
        assert_eq!(
            p.text,
            "phases:\n  build:\n    commands:\n      - printf '{\"ImageURI\":\"%s\"}' \"$IMG\" > imageDetail.json\n      - echo done # note\n\nartifacts:\n  files:\n    - imageDetail.json\n    - taskdef.json\n    - appspec.yml\n"
        );
        assert!(p.notes.iter().any(|n| n.starts_with("removed a further command")), "{:?}", p.notes);
    }

    /// AWS's tutorial buildspec for the `ECS` action, with comments.
    const TUTORIAL: &str = "version: 0.2\n# build and push\nphases:\n  pre_build:\n    commands:\n      - REPOSITORY_URI=123456789012.dkr.ecr.us-east-1.amazonaws.com/web # the repo\n  post_build:\n    commands:\n      - docker push $REPOSITORY_URI:$IMAGE_TAG\n      # the deploy action reads this\n      - printf '[{\"name\":\"web\",\"imageUri\":\"%s\"}]' \"$REPOSITORY_URI:$IMAGE_TAG\" > imagedefinitions.json\nartifacts:\n  files:\n    # what the deploy reads\n    - imagedefinitions.json\n  discard-paths: yes\n";

    #[test]
    fn the_forward_patch_round_trips_back_to_the_imagedefinitions_buildspec() {
        let forward = patch_buildspec(TUTORIAL).unwrap();
        assert!(forward.contains("imageDetail.json") && !forward.contains("imagedefinitions.json"), "{forward}");
        let back = ImageDefinitionsSnippet::new("web").patch(&forward).unwrap();
        // Every line as it was, comments included: the command and the list are the same.
        assert_eq!(back.text, TUTORIAL);
        assert!(
            back.notes.iter().any(|n| n == "replaced the command writing imageDetail.json with one writing imagedefinitions.json"),
            "{:?}",
            back.notes
        );
        assert!(back.notes.iter().any(|n| n == "artifacts.files now lists imagedefinitions.json"), "{:?}", back.notes);
        // And forward again gives the same CodeDeploy buildspec.
        assert_eq!(patch_buildspec(&back.text).unwrap(), forward);
    }

    #[test]
    fn reverse_reads_the_image_expression_of_each_form() {
        let p = |cmd: &str| {
            let text = format!("phases:\n  build:\n    commands:\n      - {cmd}\n");
            ImageDefinitionsSnippet::new("api_1").patch(&text).unwrap().text
        };
        let want = "      - printf '[{\"name\":\"api_1\",\"imageUri\":\"%s\"}]' \"$REPO:$TAG\" > imagedefinitions.json\n";
        assert!(p(r#"printf '{"ImageURI":"%s"}' $REPO:$TAG > imageDetail.json"#).contains(want));
        assert!(p(r#"printf '{"ImageURI":"%s"}' "$REPO:$TAG" | tee imageDetail.json"#).contains(want));
        assert!(p(r#"echo "{\"ImageURI\":\"$REPO:$TAG\"}" > ./imageDetail.json"#).contains(want));
        // Unreadable: the default expression, with a note.
        let q = ImageDefinitionsSnippet::new("web")
            .patch("phases:\n  build:\n    commands:\n      - cat detail.tmpl > imageDetail.json\n")
            .unwrap();
        assert!(q.text.contains("\"$REPOSITORY_URI:$IMAGE_TAG\" > imagedefinitions.json"), "{}", q.text);
        assert!(q.notes.iter().any(|n| n.starts_with("could not read the image expression")), "{:?}", q.notes);
    }

    #[test]
    fn reverse_keeps_comments_and_crlf_in_block_scalars_and_drops_further_writers() {
        let before = "phases:\r\n  post_build:\r\n    commands:\r\n      # push, then describe the image\r\n      - |\r\n        docker push $URI\r\n        printf '{\"ImageURI\":\"%s\"}' $URI > imageDetail.json\r\n        cat imageDetail.json\r\n      - printf '{\"ImageURI\":\"%s\"}' $URI >> imageDetail.json # again\r\n      - sed -i \"s|x|y|\" taskdef.json\r\nartifacts:\r\n  files: # for CodeDeploy\r\n    - imageDetail.json\r\n    - taskdef.json\r\n    - appspec.yaml\r\n";
        let p = ImageDefinitionsSnippet::new("web").patch(before).unwrap();
        assert_eq!(
            p.text,
            "phases:\r\n  post_build:\r\n    commands:\r\n      # push, then describe the image\r\n      - |\r\n        docker push $URI\r\n        printf '[{\"name\":\"web\",\"imageUri\":\"%s\"}]' \"$URI\" > imagedefinitions.json\r\n        cat imagedefinitions.json\r\n      - sed -i \"s|x|y|\" taskdef.json\r\nartifacts:\r\n  files: # for CodeDeploy\r\n    - imagedefinitions.json\r\n"
        );
        assert!(p.notes.iter().any(|n| n.starts_with("removed a further command writing imageDetail.json")), "{:?}", p.notes);
        assert!(p.notes.iter().any(|n| n.contains("neither the task definition nor the AppSpec")), "{:?}", p.notes);
    }

    #[test]
    fn reverse_leaves_an_existing_imagedefinitions_writer_and_appends_when_there_is_none() {
        let both = "phases:\n  build:\n    commands:\n      - printf '[{\"name\":\"web\",\"imageUri\":\"%s\"}]' $U > imagedefinitions.json\n      - printf '{\"ImageURI\":\"%s\"}' $U > imageDetail.json\n";
        let p = ImageDefinitionsSnippet::new("web").patch(both).unwrap();
        assert!(p.text.starts_with("phases:\n  build:\n    commands:\n      - printf '[{\"name\":\"web\",\"imageUri\":\"%s\"}]' $U > imagedefinitions.json\n\nartifacts:"), "{}", p.text);
        assert!(p.notes.iter().any(|n| n == "a command already writes imagedefinitions.json"), "{:?}", p.notes);

        let none = ImageDefinitionsSnippet::new("web").patch("phases:\n  build:\n    commands:\n      - make\n").unwrap();
        assert_eq!(
            none.text,
            "phases:\n  build:\n    commands:\n      - make\n  post_build:\n    commands:\n      - printf '[{\"name\":\"web\",\"imageUri\":\"%s\"}]' \"$REPOSITORY_URI:$IMAGE_TAG\" > imagedefinitions.json\n\nartifacts:\n  files:\n    - imagedefinitions.json\n"
        );
    }

    #[test]
    fn reverse_refuses_what_it_cannot_edit() {
        let s = ImageDefinitionsSnippet::new("web");
        let err = |text: &str| s.patch(text).unwrap_err().to_string();
        assert!(err("version: 0.2\n").contains("no top-level `phases:`"));
        assert!(err("phases: {build: {commands: [make]}}\n").contains("inline"));
        assert!(
            err("phases:\n  build:\n    commands:\n      - [\"printf x > imageDetail.json\"]\n").contains("flow collection")
        );
        assert!(err("phases:\n  post_build:\n    commands: [make]\n").contains("`post_build.commands` is written inline"));
        assert!(err("phases:\n  post_build:\n    commands:\n      - make\nartifacts: {files: [a]}\n").contains("`artifacts:` is written inline"));
        let bad = ImageDefinitionsSnippet::new("we\"b").patch("phases:\n  build:\n    commands:\n      - make\n");
        assert!(matches!(bad, Err(ArtifactError::Buildspec { .. })), "{bad:?}");
        assert_eq!(
            ImageDefinitionsSnippet::new("web").to_yaml().lines().filter(|l| l.starts_with("      - ")).collect::<Vec<_>>(),
            ["      - printf '[{\"name\":\"web\",\"imageUri\":\"%s\"}]' \"$REPOSITORY_URI:$IMAGE_TAG\" > imagedefinitions.json"]
        );
    }
}
