//! Thread order: depth-first from the article, siblings by `published` (then by id, so equal
//! times keep the order in which they were stored).

use std::collections::{HashMap, HashSet};

use super::{Comment, Status};

/// Orders a thread's comments depth-first. Comments whose parent is missing from `comments`
/// (which the store never produces) are placed at the top level rather than lost.
pub fn depth_first(mut comments: Vec<Comment>) -> Vec<Comment> {
    comments.sort_by(|a, b| a.published.cmp(&b.published).then(a.id.cmp(&b.id)));
    let index: HashMap<i64, usize> = comments.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
    let mut children: HashMap<Option<i64>, Vec<usize>> = HashMap::new();
    for (i, c) in comments.iter().enumerate() {
        let parent = c.parent_id().filter(|p| index.contains_key(p));
        children.entry(parent).or_default().push(i);
    }
    let mut order = Vec::with_capacity(comments.len());
    let mut stack: Vec<usize> = children.get(&None).map(|v| v.iter().rev().copied().collect()).unwrap_or_default();
    while let Some(i) = stack.pop() {
        order.push(i);
        if let Some(kids) = children.get(&Some(comments[i].id)) {
            stack.extend(kids.iter().rev().copied());
        }
    }
    let mut slots: Vec<Option<Comment>> = comments.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// The comments the fediverse is shown: the visible ones, and deleted ones that still have a
/// visible comment somewhere below them (as placeholders that keep those replies in place).
pub fn shown(comments: &[Comment]) -> HashSet<i64> {
    let parents: HashMap<i64, Option<i64>> = comments.iter().map(|c| (c.id, c.parent_id())).collect();
    let mut shown = HashSet::new();
    for c in comments.iter().filter(|c| c.status == Status::Visible) {
        shown.insert(c.id);
        let mut cursor = c.parent_id();
        while let Some(p) = cursor {
            if !shown.insert(p) {
                break;
            }
            cursor = parents.get(&p).copied().flatten();
        }
    }
    shown
}

/// Depth of each comment (1 for a reply to the article), by comment id.
pub fn depths(comments: &[Comment]) -> HashMap<i64, usize> {
    let parents: HashMap<i64, Option<i64>> = comments.iter().map(|c| (c.id, c.parent_id())).collect();
    let mut depths = HashMap::new();
    for c in comments {
        let mut depth = 1;
        let mut cursor = c.parent_id();
        while let Some(p) = cursor {
            depth += 1;
            cursor = parents.get(&p).copied().flatten();
            if depth > comments.len() {
                break;
            }
        }
        depths.insert(c.id, depth);
    }
    depths
}
