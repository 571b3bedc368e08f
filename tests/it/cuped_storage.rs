//! CUPED's sums end to end (decision 022): units assigned over HTTP with numeric attributes,
//! events (and their retry) over HTTP, and the counters Redis holds compared with Σx, Σx²,
//! missing and Σxy worked out here from what was sent; then the results over HTTP against
//! `touchstone analyze` run on those same sums (issue 20: the server's CUPED numbers are the
//! CLI's on the sums the store holds).

use crate::client::Api;
use crate::journey::checkout_experiment;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::Command;
use touchstone_testkit::binary::{TempDir, TouchstoneServer, touchstone_binary};
use touchstone_testkit::redis::RedisServer;

/// Per variant index: the sums this test expects in the counters hash.
#[derive(Default, Debug)]
struct Expected {
    units: u64,
    purchased: u64,
    revenue_y: f64,
    revenue_y_squares: f64,
    orders_taken: u64,
    orders_sum: f64,
    orders_squares: f64,
    revenue_sum: f64,
    revenue_squares: f64,
    /// Σxy of `buyer` and of the stage `purchase` (x = orders, y reached 0/1).
    buyer_products: f64,
    /// Σxy of `revenue_per_unit` (x = 90-day revenue, y = the unit's revenue).
    revenue_products: f64,
}

fn counters(redis: &RedisServer, key: &str) -> BTreeMap<String, f64> {
    let lines: Vec<String> = redis
        .cli(&["HGETALL", &format!("{{exp:{key}}}:p1:agg")])
        .lines()
        .map(str::to_owned)
        .collect();
    lines
        .chunks(2)
        .filter_map(|pair| Some((pair[0].clone(), pair.get(1)?.parse().ok()?)))
        .collect()
}

#[test]
fn covariates_sent_at_assign_reach_the_stores_sums_and_a_retried_batch_adds_nothing() {
    let redis = RedisServer::shared();
    let url = redis.url();
    let server = TouchstoneServer::start(&[("TOUCHSTONE__STORE__URL", url.as_str())]);
    let api = Api::new(server.base_url());
    let key = "cuped-store-e2e";
    let mut definition = checkout_experiment(key);
    // Its own touchpoint: other tests' experiments at `checkout.shipping` share this Redis.
    definition["touchpoint"] = json!("checkout.cuped-e2e");
    definition["metrics"] = json!([{"key": "buyer", "kind": "conversion", "event": "purchase",
                                    "covariate": {"attribute": "orders_90d"}}]);
    definition["covariates"] = json!({
        "purchase": {"attribute": "orders_90d"},
        "revenue_per_unit": {"attribute": "revenue_90d"},
    });
    let reply = api.put(&format!("/v1/experiments/{key}"), &definition);
    assert_eq!(reply.status, 201, "{}", reply.body);
    let reply = api.post(&format!("/v1/experiments/{key}/start"), &json!({}));
    assert_eq!(reply.status, 200, "{}", reply.body);

    let mut expected: [Expected; 2] = Default::default();
    let mut events: Vec<Value> = Vec::new();
    for i in 0..40u32 {
        let unit = format!("cuped-e2e-{i}");
        let x = f64::from(i);
        // Every fifth unit sends its orders as text: missing (x = 0).
        let orders = if i.is_multiple_of(5) {
            json!("many")
        } else {
            json!(i)
        };
        let assign = |orders: Value| {
            api.post(
                "/v1/assign",
                &json!({"unit_id": unit, "touchpoint": "checkout.cuped-e2e",
                        "attributes": {"orders_90d": orders, "revenue_90d": 10 * i}}),
            )
        };
        let reply = assign(orders);
        assert_eq!(reply.status, 200, "{}", reply.body);
        let assignment = reply.body["assignments"]
            .as_array()
            .and_then(|all| all.iter().find(|a| a["experiment"] == key))
            .unwrap_or_else(|| panic!("{key} assigns {unit}: {}", reply.body));
        let variant = usize::from(assignment["variant"] != "control");
        // A second assign with other values changes nothing: x is the first exposure's.
        assert_eq!(assign(json!(1000)).status, 200);
        let sums = &mut expected[variant];
        sums.units += 1;
        let x_orders = if i.is_multiple_of(5) { 0.0 } else { x };
        if !i.is_multiple_of(5) {
            sums.orders_taken += 1;
            sums.orders_sum += x;
            sums.orders_squares += x * x;
        }
        sums.revenue_sum += 10.0 * x;
        sums.revenue_squares += 100.0 * x * x;
        if i % 2 == 1 {
            let value = f64::from(5 + i);
            let total = if i.is_multiple_of(3) {
                value + 2.0
            } else {
                value
            };
            sums.purchased += 1;
            sums.revenue_y += total;
            sums.revenue_y_squares += total * total;
            events.push(json!({"id": format!("{unit}-buy1"), "unit_id": unit,
                               "name": "purchase", "value": value}));
            sums.buyer_products += x_orders;
            sums.revenue_products += 10.0 * x * value;
            if i.is_multiple_of(3) {
                events.push(json!({"id": format!("{unit}-buy2"), "unit_id": unit,
                                   "name": "purchase", "value": 2.0}));
                sums.revenue_products += 10.0 * x * 2.0;
            }
        }
    }
    for _attempt in 0..2 {
        let reply = api.post("/v1/events", &json!({ "events": events }));
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let stored = counters(redis, key);
    let field = |name: String| stored.get(&name).copied().unwrap_or(0.0);
    for (variant, sums) in expected.iter().enumerate() {
        let seen = [
            field(format!("{variant}:c:orders_90d:n")),
            field(format!("{variant}:c:orders_90d:s")),
            field(format!("{variant}:c:orders_90d:q")),
            field(format!("{variant}:c:revenue_90d:s")),
            field(format!("{variant}:m:buyer:p")),
            field(format!("{variant}:s:purchase:p")),
            field(format!("{variant}:m:revenue_per_unit:p")),
        ];
        let wanted = [
            sums.orders_taken as f64,
            sums.orders_sum,
            sums.orders_squares,
            sums.revenue_sum,
            sums.buyer_products,
            sums.buyer_products,
            sums.revenue_products,
        ];
        assert_eq!(seen, wanted, "variant {variant}: {stored:?}");
    }

    let results = api.get(&format!("/v1/experiments/{key}/results"));
    assert_eq!(results.status, 200, "{}", results.body);
    let analyzed = analyze(&analyze_input(&expected));
    let http_stage = stage_comparison(&results.body, "purchase");
    let cli_stage = stage_comparison(&analyzed, "purchase");
    let http_revenue = metric_comparison(&results.body, "revenue_per_unit");
    let cli_revenue = metric_comparison(&analyzed, "revenue");
    for (what, http, cli) in [
        ("stage purchase", http_stage, cli_stage),
        ("revenue per unit", http_revenue, cli_revenue),
    ] {
        assert_eq!(http["cuped"]["applied"], json!(true), "{what}: {http}");
        for path in [
            "/cuped/theta",
            "/cuped/variance_reduction",
            "/absolute/estimate",
            "/absolute/ci/0",
            "/absolute/ci/1",
            "/absolute/standard_error",
            "/p_value",
            "/sequential/ci/0",
            "/sequential/ci/1",
            "/unadjusted/absolute/estimate",
        ] {
            let (a, b) = (number(http, path), number(cli, path));
            assert!(
                (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12),
                "{what} {path}: HTTP {a} vs analyze {b}"
            );
        }
    }
}

fn number(value: &Value, path: &str) -> f64 {
    value
        .pointer(path)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{path} is a number in {value}"))
}

fn stage_comparison<'a>(results: &'a Value, stage: &str) -> &'a Value {
    results["stages"]
        .as_array()
        .and_then(|stages| stages.iter().find(|s| s["stage"] == stage))
        .map(|s| &s["variants"][1]["vs_control"])
        .unwrap_or_else(|| panic!("stage {stage} in {results}"))
}

fn metric_comparison<'a>(results: &'a Value, metric: &str) -> &'a Value {
    results["metrics"]
        .as_array()
        .and_then(|metrics| metrics.iter().find(|m| m["metric"] == metric))
        .map(|m| &m["variants"][1]["vs_control"])
        .unwrap_or_else(|| panic!("metric {metric} in {results}"))
}

/// `touchstone analyze` input with the sums the store must hold (checked above).
fn analyze_input(expected: &[Expected; 2]) -> Value {
    let arm = |key: &str, sums: &Expected| {
        let missing_orders = sums.units - sums.orders_taken;
        json!({
            "key": key,
            "units": sums.units,
            "stages": {"purchase": {
                "reached": sums.purchased,
                "covariate_sum": sums.orders_sum,
                "covariate_sum_squares": sums.orders_squares,
                "sum_of_products": sums.buyer_products,
                "covariate_missing": missing_orders,
            }},
            "metrics": {"revenue": {
                "count": sums.units,
                "sum": sums.revenue_y,
                "sum_squares": sums.revenue_y_squares,
                "covariate_sum": sums.revenue_sum,
                "covariate_sum_squares": sums.revenue_squares,
                "sum_of_products": sums.revenue_products,
                "covariate_missing": 0,
            }},
        })
    };
    json!({
        "experiment": "cuped-store-e2e",
        "control": "control",
        "journey": ["purchase"],
        "covariates": {"purchase": "orders_90d", "revenue": "revenue_90d"},
        "variants": [arm("control", &expected[0]), arm("threshold_35", &expected[1])],
    })
}

fn analyze(input: &Value) -> Value {
    let dir = TempDir::new("cuped-analyze");
    let file = dir.path().join("input.json");
    std::fs::write(&file, input.to_string()).expect("input written");
    let output = Command::new(touchstone_binary())
        .arg("analyze")
        .arg(&file)
        .output()
        .expect("touchstone analyze runs");
    assert!(
        output.status.success(),
        "analyze: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("analyze prints JSON")
}
