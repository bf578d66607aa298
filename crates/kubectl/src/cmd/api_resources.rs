//! `kubectl api-versions` and `kubectl api-resources` from the server's discovery
//! documents (`/api`, `/apis`, each group version's resource list).

use crate::client::Api;
use crate::ctx::{out, CmdError, CmdResult, Ctx};
use crate::flags::{f, Kind, Spec};
use crate::json_get::{arr, s};
use crate::print::tabwriter::TabWriter;
use serde_json::Value;

/// Flags of `api-resources`.
pub const RESOURCES_FLAGS: &[Spec] = &[
    f("output", Some('o'), Kind::Value),
    f("namespaced", None, Kind::Value),
    f("api-group", None, Kind::Value),
    f("verbs", None, Kind::Multi),
    f("no-headers", None, Kind::Bool),
    f("sort-by", None, Kind::Value),
    f("cached", None, Kind::Bool),
    f("categories", None, Kind::Multi),
];

/// Preferred-first group versions: `v1`, then each group's versions.
async fn group_versions(api: &Api) -> Result<Vec<String>, CmdError> {
    let mut gvs = Vec::new();
    let core = api.get("/api").await?;
    for v in arr(&core, "/versions") {
        gvs.push(v.as_str().unwrap_or("").to_string());
    }
    let groups = api.get("/apis").await?;
    for g in arr(&groups, "/groups") {
        for v in arr(g, "/versions") {
            gvs.push(s(v, "/groupVersion").to_string());
        }
    }
    Ok(gvs)
}

/// Runs `api-versions`.
pub async fn api_versions(ctx: &Ctx) -> CmdResult {
    let api = Api::connect(ctx).await?;
    let mut gvs = group_versions(&api).await?;
    gvs.sort();
    out(&gvs.iter().map(|g| format!("{g}\n")).collect::<String>());
    Ok(())
}

/// What `api-resources` lists and how.
struct Listing {
    /// `-o wide`: VERBS and CATEGORIES columns.
    wide: bool,
    /// `-o name`: `NAME[.GROUP]` only.
    names_only: bool,
    /// `--namespaced=true|false`.
    namespaced: Option<String>,
    /// `--api-group`.
    group: Option<String>,
    /// `--verbs`: a resource must support all of them.
    verbs: Vec<String>,
}

/// Runs `api-resources`.
pub async fn api_resources(ctx: &Ctx) -> CmdResult {
    let api = Api::connect(ctx).await?;
    let groups = api.get("/apis").await?;
    // preferred version of each group, core first
    let mut gvs = vec!["v1".to_string()];
    for g in arr(&groups, "/groups") {
        gvs.push(s(g, "/preferredVersion/groupVersion").to_string());
    }
    let listing = Listing {
        wide: ctx.p.get("output") == Some("wide"),
        names_only: ctx.p.get("output") == Some("name"),
        namespaced: ctx.p.get("namespaced").map(str::to_string),
        group: ctx.p.get("api-group").map(str::to_string),
        verbs: ctx
            .p
            .all("verbs")
            .iter()
            .flat_map(|v| v.split(',').map(str::to_string).collect::<Vec<_>>())
            .collect(),
    };
    let mut rows: Vec<Vec<String>> = Vec::new();
    for gv in gvs {
        let path = if gv == "v1" {
            "/api/v1".to_string()
        } else {
            format!("/apis/{gv}")
        };
        let Ok(list) = api.get(&path).await else {
            continue;
        };
        rows.extend(listing.rows(&gv, &list));
    }
    if listing.names_only {
        out(&rows
            .iter()
            .map(|r| format!("{}\n", r[0]))
            .collect::<String>());
        return Ok(());
    }
    let mut tw = TabWriter::new();
    if !ctx.p.flag("no-headers") {
        let mut h = vec!["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"];
        if listing.wide {
            h.extend(["VERBS", "CATEGORIES"]);
        }
        tw.row(&h);
    }
    for r in &rows {
        tw.row(r);
    }
    out(&tw.flush());
    Ok(())
}

impl Listing {
    /// The rows of one group version's resource list (subresources left out), sorted
    /// by name.
    fn rows(&self, gv: &str, list: &Value) -> Vec<Vec<String>> {
        let group = gv.split_once('/').map(|(g, _)| g).unwrap_or("");
        if self.group.as_deref().is_some_and(|g| g != group) {
            return Vec::new();
        }
        let mut res: Vec<&Value> = arr(list, "/resources")
            .iter()
            .filter(|r| !s(r, "/name").contains('/'))
            .collect();
        res.sort_by_key(|r| s(r, "/name").to_string());
        res.into_iter()
            .filter_map(|r| self.row(gv, group, r))
            .collect()
    }

    /// One resource's row, or None when a filter leaves it out.
    fn row(&self, gv: &str, group: &str, r: &Value) -> Option<Vec<String>> {
        let namespaced = r.get("namespaced").and_then(Value::as_bool) == Some(true);
        if self
            .namespaced
            .as_deref()
            .is_some_and(|f| (f == "true") != namespaced)
        {
            return None;
        }
        let mut rv: Vec<String> = arr(r, "/verbs")
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        if !self.verbs.iter().all(|v| rv.contains(v)) {
            return None;
        }
        rv.sort();
        let name = s(r, "/name");
        if self.names_only {
            return Some(vec![if group.is_empty() {
                name.to_string()
            } else {
                format!("{name}.{group}")
            }]);
        }
        let join = |ptr: &str| {
            arr(r, ptr)
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut row = vec![
            name.to_string(),
            join("/shortNames"),
            gv.to_string(),
            namespaced.to_string(),
            s(r, "/kind").to_string(),
        ];
        if self.wide {
            row.push(rv.join(","));
            row.push(join("/categories"));
        }
        Some(row)
    }
}
