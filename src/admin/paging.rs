//! The paging the admin lists share: `page` from 1, `per_page` 1..=500 (100 when left out),
//! and the page they answer with.

use serde::{Deserialize, Serialize};

use crate::store::Page;

/// (page from 1, per page 1..=500, offset) from the `page` and `per_page` parameters.
pub(super) fn bounds(page: Option<i64>, per_page: Option<i64>) -> (i64, i64, i64) {
    let page = page.unwrap_or(1).max(1);
    let per_page = per_page.unwrap_or(100).clamp(1, 500);
    (page, per_page, (page - 1).saturating_mul(per_page))
}

/// `?page=&per_page=` of a list with no other parameter.
#[derive(Deserialize)]
pub(super) struct PageQuery {
    pub(super) page: Option<i64>,
    pub(super) per_page: Option<i64>,
}

#[derive(Serialize)]
pub(super) struct PageView<T> {
    pub(super) items: Vec<T>,
    pub(super) total: i64,
    pub(super) page: i64,
    pub(super) per_page: i64,
}

pub(super) fn page_view<T, V>(page: Page<T>, number: i64, per_page: i64, view: impl Fn(T) -> V) -> PageView<V> {
    PageView { items: page.items.into_iter().map(view).collect(), total: page.total, page: number, per_page }
}
