use streams_runtime::prelude::*;

#[derive(Debug, Clone, PartialEq)]
struct Region(String);

topology! {
    struct Topo {
        stream users { topic: "users", key: String, value: String }
        users.group_by(|_, v| Region(v.clone())).count(store: "per-region");
    }
}

fn main() {}
