use streams_runtime::prelude::*;

topology! {
    struct Topo {
        table balances { topic: "balances", key: String, value: i64 }
        balances
            .group_by(|k, v| (k.clone(), v))
            .aggregate(|| 0, |_, v, total| total + v, store: "totals");
    }
}

fn main() {}
