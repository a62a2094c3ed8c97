//! Criterion benches of the pure core: reference parsing, compared in the same group with
//! `oci-spec`'s `distribution::Reference` parser on the same inputs, and the selection rule
//! over 10, 1,000 and 10,000 candidates. Run with `cargo bench -p regcred-core`.

use std::hint::black_box;
use std::str::FromStr;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use regcred_core::{Candidate, Reference, Scope, select, select_chosen, statuses};

/// One input per shape the issue names.
fn inputs() -> Vec<(&'static str, String)> {
    let digest = format!("sha256:{}", "0123456789abcdef".repeat(4));
    vec![
        ("familiar", "nginx".to_owned()),
        ("familiar_tag", "bitnami/redis:7.2".to_owned()),
        ("canonical", "registry.example.com:5000/team/app/server:1.2.3".to_owned()),
        ("digest", format!("ghcr.io/acme/app@{digest}")),
        ("ipv6", "[fd00::1]:5000/team/app:v1".to_owned()),
        ("invalid", "registry.example.com/Team/App:1".to_owned()),
    ]
}

fn parsing(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    for (shape, input) in inputs() {
        group.throughput(Throughput::Elements(1));
        group.bench_with_input(BenchmarkId::new("regcred", shape), &input, |b, input| {
            b.iter(|| Reference::parse(black_box(input)).is_ok())
        });
        group.bench_with_input(BenchmarkId::new("oci-spec", shape), &input, |b, input| {
            b.iter(|| oci_spec::distribution::Reference::from_str(black_box(input)).is_ok())
        });
    }
    group.finish();
}

/// `n` registry-wide scopes on distinct hosts plus, every tenth, a scoped one on the host
/// the reference names, so the winner is decided among several.
fn scopes(n: usize) -> Vec<Scope> {
    (0..n)
        .map(|i| {
            let text = if i % 10 == 0 {
                format!("registry.example.com:5000/team{}", i % 3)
            } else {
                format!("registry{i}.example.com:5000")
            };
            Scope::parse(&text).expect("valid scope")
        })
        .collect()
}

fn selection(c: &mut Criterion) {
    let reference = Reference::parse("registry.example.com:5000/team1/app:1").expect("valid reference");
    let mut group = c.benchmark_group("select");
    for n in [10usize, 1_000, 10_000] {
        let scopes = scopes(n);
        let candidates: Vec<Candidate<'_>> = scopes
            .iter()
            .enumerate()
            .map(|(i, scope)| Candidate { id: i as u64 + 1, scope, sequence: i as u64 + 1, active: i % 7 != 0 })
            .collect();
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("select_chosen", n), &candidates, |b, candidates| {
            b.iter(|| select_chosen(black_box(candidates), &reference))
        });
        group.bench_with_input(BenchmarkId::new("select_explained", n), &candidates, |b, candidates| {
            b.iter(|| select(black_box(candidates), &reference))
        });
        group.bench_with_input(BenchmarkId::new("statuses", n), &candidates, |b, candidates| {
            b.iter(|| statuses(black_box(candidates)))
        });
    }
    group.finish();
}

criterion_group!(benches, parsing, selection);
criterion_main!(benches);
