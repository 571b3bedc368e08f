//! Time of one Beta comparison (chance to beat and both expected losses) and of a four-arm
//! chance to be best, from 10² to 10¹² units per arm at 10 % conversion: flat by construction
//! (decision 017). `cargo bench -p touchstone-stats --bench beta`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use touchstone_stats::Counts;
use touchstone_stats::bayes::{beta_chance_to_be_best, beta_comparison};

fn sizes(c: &mut Criterion) {
    let mut group = c.benchmark_group("beta_comparison");
    for exponent in [2_u32, 4, 6, 8, 10, 12] {
        let units = 10_u64.pow(exponent);
        let control = Counts::new(units, units / 10);
        let variant = Counts::new(units, units / 10 + units / 1000);
        group.bench_with_input(BenchmarkId::from_parameter(units), &units, |b, _| {
            b.iter(|| beta_comparison(black_box(control), black_box(variant)))
        });
    }
    group.finish();
    let mut group = c.benchmark_group("beta_chance_to_be_best_4_arms");
    for exponent in [2_u32, 6, 12] {
        let units = 10_u64.pow(exponent);
        let arms: Vec<Counts> = (0..4)
            .map(|k| Counts::new(units, units / 10 + k * (units / 1000)))
            .collect();
        group.bench_with_input(BenchmarkId::from_parameter(units), &units, |b, _| {
            b.iter(|| beta_chance_to_be_best(black_box(&arms)))
        });
    }
    group.finish();
}

criterion_group!(benches, sizes);
criterion_main!(benches);
