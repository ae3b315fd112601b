//! The pure decision path per event: classify a sample, match the rules, plan the policy.
//! `cargo bench --bench decide`

use criterion::{criterion_group, criterion_main, Criterion};
use ecr_policy_remediator::{
    check_trust, plan, revoke_untrusted, Config, DocumentKind, Event, Plan,
};
use serde_json::Value;
use std::hint::black_box;

fn sample(name: &str) -> Value {
    let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn benches(c: &mut Criterion) {
    let config =
        Config::from_file(format!("{}/events/config.json", env!("CARGO_MANIFEST_DIR")).as_ref())
            .unwrap();
    let event = sample("pull-denied-batch-get-image-forwarded.json");
    c.bench_function("classify a denied pull", |b| {
        b.iter(|| Event::classify(black_box(&event)))
    });

    let desired = config.desired("team-a/payments-api");
    let owner = &config.ownership;
    let foreign: Vec<String> = (0..40)
        .map(|i| format!(r#"{{"Sid":"Theirs{i}","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{:012}:root"}},"Action":["ecr:BatchGetImage"]}}"#, 500_000_000_000u64 + i))
        .collect();
    let current = format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        foreign.join(",")
    );
    c.bench_function("plan a merge into 40 foreign statements", |b| {
        b.iter(|| {
            plan(
                black_box(Some(current.as_str())),
                black_box(&desired),
                &[],
                owner,
            )
        })
    });
    let compliant = match plan(Some(&current), &desired, &[], owner).unwrap().plan {
        Plan::Write { text, .. } => text,
        other => unreachable!("{other:?}"),
    };
    c.bench_function("recognise a compliant policy (41 statements)", |b| {
        b.iter(|| {
            plan(
                black_box(Some(compliant.as_str())),
                black_box(&desired),
                &[],
                owner,
            )
        })
    });
    c.bench_function("plan a revocation out of a 41-statement policy", |b| {
        b.iter(|| {
            plan(
                black_box(Some(compliant.as_str())),
                black_box(&[]),
                &[],
                owner,
            )
        })
    });
    trust(c, &config, &compliant);
    let names: Vec<String> = (0..1000)
        .map(|i| format!("team-{}/svc-{i}", i % 7))
        .collect();
    c.bench_function("match 1,000 names against the sample rules", |b| {
        b.iter(|| {
            names
                .iter()
                .filter(|n| config.matching(n).next().is_some())
                .count()
        })
    });
}

/// The trust check and revocation on the 41-statement policy plus a Lambda service statement and
/// an organization-pinned public one, with half the foreign accounts trusted: 20 untrusted grants.
fn trust(c: &mut Criterion, config: &Config, compliant: &str) {
    let extra = [
        r#"{"Sid":"LambdaECRImageRetrievalPolicy","Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}"#,
        r#"{"Sid":"OrgPull","Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}}"#,
    ];
    let current = compliant.replacen(
        r#""Statement":["#,
        &format!(r#""Statement":[{},"#, extra.join(",")),
        1,
    );
    let mut trusted = config.trusted("111111111111");
    trusted.accounts.extend(
        (0..40)
            .step_by(2)
            .map(|i| format!("{:012}", 500_000_000_000u64 + i)),
    );
    trusted.services.insert("lambda.amazonaws.com".into());
    let owner = &config.ownership;
    let findings = check_trust(&current, owner, DocumentKind::Repository, &trusted).unwrap();
    assert_eq!(findings.len(), 20);
    c.bench_function("trust check: 43 statements, 20 untrusted", |b| {
        b.iter(|| {
            check_trust(
                black_box(&current),
                owner,
                DocumentKind::Repository,
                &trusted,
            )
        })
    });
    c.bench_function("trust revoke: 43 statements, 20 untrusted", |b| {
        b.iter(|| {
            revoke_untrusted(
                black_box(&current),
                owner,
                DocumentKind::Repository,
                &trusted,
            )
        })
    });
}

criterion_group!(decide, benches);
criterion_main!(decide);
