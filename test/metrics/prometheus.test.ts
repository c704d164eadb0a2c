import { describe, expect, test } from "bun:test";
import { ValueType } from "@opentelemetry/api";
import { emptyResource, resourceFromAttributes } from "@opentelemetry/resources";
import {
  AggregationTemporality,
  DataPointType,
  MeterProvider,
  type MetricData,
  type ResourceMetrics,
} from "@opentelemetry/sdk-metrics";
import { CATALOG, METRICS, type MetricDefinition, prometheusName } from "../../src/metrics/catalog.ts";
import {
  escapeHelp,
  escapeLabelValue,
  formatBucketBound,
  formatSampleValue,
  type OtlpMetricType,
  renderPrometheus,
  translateAttributes,
  translateLabelName,
  translateMetricName,
} from "../../src/metrics/prometheus.ts";
import { PrometheusPullReader } from "../../src/metrics/pull-reader.ts";

const RESOURCE = resourceFromAttributes({
  "service.name": "pulumi-exporter",
  "service.version": "1.2.3",
  "service.instance.id": "host-1",
});

function setup(options: ConstructorParameters<typeof PrometheusPullReader>[0] = {}) {
  const reader = new PrometheusPullReader(options);
  const provider = new MeterProvider({ resource: RESOURCE, readers: [reader] });
  return { reader, provider, meter: provider.getMeter("pulumi-exporter") };
}

const PROD = { org: "acme", project: "web", stack: "prod" };

describe("renderPrometheus through the pull reader", () => {
  test("renders every family with Prometheus names, suffixes, cumulative buckets and escaping", async () => {
    const { reader, meter } = setup();
    const resources = meter.createObservableGauge(CATALOG.stackResourceCount.name, {
      description: CATALOG.stackResourceCount.description,
      valueType: ValueType.INT,
    });
    resources.addCallback((result) => {
      result.observe(7, { org: "acme", project: "web", stack: 'we"ird\\name\nx' });
      result.observe(42, PROD);
    });
    meter
      .createGauge(CATALOG.stackLastUpdateTimestamp.name, {
        description: CATALOG.stackLastUpdateTimestamp.description,
        valueType: ValueType.DOUBLE,
      })
      .record(1700000000.5, PROD);
    meter
      .createCounter(CATALOG.updateTotal.name, {
        description: CATALOG.updateTotal.description,
        valueType: ValueType.INT,
      })
      .add(1, { ...PROD, kind: "update", result: "succeeded" });
    const changes = meter.createCounter(CATALOG.updateResourceChanges.name, {
      description: CATALOG.updateResourceChanges.description,
      valueType: ValueType.INT,
    });
    changes.add(3, { ...PROD, kind: "update", operation: "create" });
    changes.add(2, { ...PROD, kind: "update", operation: "create" });
    const duration = meter.createHistogram(CATALOG.updateDuration.name, {
      description: CATALOG.updateDuration.description,
      unit: "s",
      advice: { explicitBucketBoundaries: [...CATALOG.updateDuration.buckets] },
    });
    for (const seconds of [3, 7, 45, 2000])
      duration.record(seconds, { ...PROD, kind: "update", result: "failed" });
    const special = meter.createGauge("custom.special", {
      description: 'Line one\nback\\slash "quoted"',
    });
    special.record(Number.NaN, { "http.method": "GET" });
    special.record(Number.POSITIVE_INFINITY, { "http.method": "PUT" });
    special.record(Number.NEGATIVE_INFINITY, { "http.method": "POST" });
    const requests = meter.createCounter("custom.requests", { description: "Requests", unit: "{request}" });
    requests.add(0.5);
    requests.add(0.25);

    const hist = 'org="acme",project="web",stack="prod",kind="update",result="failed"';
    expect(await reader.scrape()).toBe(
      [
        "# HELP target_info Target metadata",
        "# TYPE target_info gauge",
        'target_info{service_instance_id="host-1",service_name="pulumi-exporter",service_version="1.2.3"} 1',
        "# HELP pulumi_stack_resource_count Number of resources in a Pulumi stack",
        "# TYPE pulumi_stack_resource_count gauge",
        'pulumi_stack_resource_count{org="acme",project="web",stack="prod"} 42',
        'pulumi_stack_resource_count{org="acme",project="web",stack="we\\"ird\\\\name\\nx"} 7',
        `# HELP pulumi_stack_last_update_timestamp ${CATALOG.stackLastUpdateTimestamp.description}`,
        "# TYPE pulumi_stack_last_update_timestamp gauge",
        'pulumi_stack_last_update_timestamp{org="acme",project="web",stack="prod"} 1700000000.5',
        `# HELP pulumi_update_total ${CATALOG.updateTotal.description}`,
        "# TYPE pulumi_update_total counter",
        'pulumi_update_total{org="acme",project="web",stack="prod",kind="update",result="succeeded"} 1',
        "# HELP pulumi_update_duration_seconds Duration of finished Pulumi stack updates in seconds",
        "# TYPE pulumi_update_duration_seconds histogram",
        `pulumi_update_duration_seconds_bucket{${hist},le="5"} 1`,
        `pulumi_update_duration_seconds_bucket{${hist},le="10"} 2`,
        `pulumi_update_duration_seconds_bucket{${hist},le="30"} 2`,
        `pulumi_update_duration_seconds_bucket{${hist},le="60"} 3`,
        `pulumi_update_duration_seconds_bucket{${hist},le="120"} 3`,
        `pulumi_update_duration_seconds_bucket{${hist},le="300"} 3`,
        `pulumi_update_duration_seconds_bucket{${hist},le="600"} 3`,
        `pulumi_update_duration_seconds_bucket{${hist},le="1800"} 3`,
        `pulumi_update_duration_seconds_bucket{${hist},le="+Inf"} 4`,
        `pulumi_update_duration_seconds_sum{${hist}} 2055`,
        `pulumi_update_duration_seconds_count{${hist}} 4`,
        `# HELP pulumi_update_resource_changes_total ${CATALOG.updateResourceChanges.description}`,
        "# TYPE pulumi_update_resource_changes_total counter",
        'pulumi_update_resource_changes_total{org="acme",project="web",stack="prod",kind="update",operation="create"} 5',
        "# HELP custom_requests_total Requests",
        "# TYPE custom_requests_total counter",
        "custom_requests_total 0.75",
        '# HELP custom_special Line one\\nback\\\\slash "quoted"',
        "# TYPE custom_special gauge",
        'custom_special{http_method="GET"} NaN',
        'custom_special{http_method="POST"} -Inf',
        'custom_special{http_method="PUT"} +Inf',
        "",
      ].join("\n"),
    );
  });

  test("all 10,000 series of one gauge appear", async () => {
    const { reader, meter } = setup();
    const gauge = meter.createObservableGauge(CATALOG.stackResourceCount.name, { valueType: ValueType.INT });
    gauge.addCallback((result) => {
      for (let i = 0; i < 10_000; i++) result.observe(i, { org: "acme", project: "p", stack: `s${i}` });
    });
    const lines = (await reader.scrape())
      .split("\n")
      .filter((l) => l.startsWith("pulumi_stack_resource_count{"));
    expect(lines).toHaveLength(10_000);
    expect(new Set(lines).size).toBe(10_000);
    expect(lines).toContain('pulumi_stack_resource_count{org="acme",project="p",stack="s9999"} 9999');
    expect(lines.some((l) => l.includes("otel_metric_overflow"))).toBe(false);
  });

  test("a lowered cardinality limit folds the rest into the SDK's overflow series", async () => {
    const { reader, meter } = setup({ cardinalityLimit: 3 });
    const gauge = meter.createObservableGauge("limited");
    gauge.addCallback((result) => {
      for (let i = 0; i < 5; i++) result.observe(i, { stack: `s${i}` });
    });
    const lines = (await reader.scrape()).split("\n").filter((l) => l.startsWith("limited{"));
    expect(lines).toHaveLength(3);
    expect(lines.filter((l) => l.startsWith('limited{otel_metric_overflow="true"}'))).toHaveLength(1);
  });

  test("a gauge series no longer observed disappears from the next scrape", async () => {
    const { reader, meter } = setup();
    let stacks = ["prod", "dev"];
    meter
      .createObservableGauge("pulumi_stack_resource_count", { valueType: ValueType.INT })
      .addCallback((result) => {
        for (const stack of stacks) result.observe(7, { org: "acme", project: "web", stack });
      });
    expect(await reader.scrape()).toContain(
      'pulumi_stack_resource_count{org="acme",project="web",stack="dev"} 7',
    );
    stacks = ["prod"];
    const text = await reader.scrape();
    expect(text).toContain('pulumi_stack_resource_count{org="acme",project="web",stack="prod"} 7');
    expect(text).not.toContain('stack="dev"');
  });

  test("labels are rendered once per attributes object; a new object renders afresh", async () => {
    const { reader, meter } = setup();
    const shared: Record<string, string> = { ...PROD };
    let observed: Array<Record<string, string>> = [shared];
    meter
      .createObservableGauge("pulumi_stack_resource_count", { valueType: ValueType.INT })
      .addCallback((result) => {
        for (const attributes of observed) result.observe(7, attributes);
      });
    expect(await reader.scrape()).toContain(
      'pulumi_stack_resource_count{org="acme",project="web",stack="prod"} 7',
    );
    // Attributes are treated as immutable: the same object keeps the labels rendered the first time.
    shared.stack = "changed";
    expect(await reader.scrape()).toContain(
      'pulumi_stack_resource_count{org="acme",project="web",stack="prod"} 7',
    );
    observed = [{ ...PROD, stack: "dev" }];
    const text = await reader.scrape();
    expect(text).toContain('pulumi_stack_resource_count{org="acme",project="web",stack="dev"} 7');
    expect(text).not.toContain('stack="prod"');
  });

  test("counters stay cumulative across scrapes", async () => {
    const { reader, meter } = setup();
    const counter = meter.createCounter("pulumi_exporter_export_failures_total", {
      valueType: ValueType.INT,
    });
    counter.add(2);
    expect(await reader.scrape()).toContain("\npulumi_exporter_export_failures_total 2\n");
    counter.add(1);
    expect(await reader.scrape()).toContain("\npulumi_exporter_export_failures_total 3\n");
  });

  test("a failing observable callback is reported and the other metrics are still rendered", async () => {
    const reported: unknown[] = [];
    const { reader, meter } = setup({ onCollectErrors: (errors) => reported.push(...errors) });
    meter.createObservableGauge("broken").addCallback(() => {
      throw new Error("callback failed");
    });
    meter.createObservableGauge("working").addCallback((result) => result.observe(1));
    const text = await reader.scrape();
    expect(text).toContain("\nworking 1\n");
    expect(text).not.toContain("broken");
    expect(reported).toHaveLength(1);
    expect(reported[0]).toBeInstanceOf(Error);
    expect((reported[0] as Error).message).toBe("callback failed");
  });

  test("an up-down counter is a gauge without _total", async () => {
    const { reader, meter } = setup();
    meter.createUpDownCounter("queue.depth").add(-3);
    expect(await reader.scrape()).toContain("# TYPE queue_depth gauge\nqueue_depth -3\n");
  });

  test("a reader that is not on a provider fails clearly", async () => {
    await expect(new PrometheusPullReader().scrape()).rejects.toThrow(
      "MetricReader is not bound to a MetricProducer",
    );
  });
});

function kindToOtlp(definition: MetricDefinition): OtlpMetricType {
  if (definition.kind === "counter") return "monotonic-counter";
  return definition.kind;
}

describe("translateMetricName", () => {
  test("every catalog metric gets the name the catalog promises", () => {
    for (const definition of METRICS) {
      expect(translateMetricName(definition.name, definition.unit ?? "", kindToOtlp(definition))).toBe(
        prometheusName(definition),
      );
    }
  });

  test.each([
    ["pulumi_update_resource_changes", "", "monotonic-counter", "pulumi_update_resource_changes_total"],
    ["pulumi_update_total", "", "monotonic-counter", "pulumi_update_total"],
    ["total.requests", "", "monotonic-counter", "requests_total"],
    ["pulumi_org_policy_total", "", "gauge", "pulumi_org_policy_total"],
    ["pulumi_update_duration_seconds", "s", "histogram", "pulumi_update_duration_seconds"],
    ["http.server.request.duration", "s", "histogram", "http_server_request_duration_seconds"],
    ["system.filesystem.usage", "By", "gauge", "system_filesystem_usage_bytes"],
    ["network.io", "By", "monotonic-counter", "network_io_bytes_total"],
    ["system.cpu.utilization", "1", "gauge", "system_cpu_utilization_ratio"],
    ["requests", "1", "monotonic-counter", "requests_total"],
    ["throughput", "By/s", "gauge", "throughput_bytes_per_second"],
    ["speed", "m/s", "gauge", "speed_meters_per_second"],
    ["requests", "{request}/s", "gauge", "requests_per_second"],
    ["requests", "{request}", "non-monotonic-counter", "requests"],
    ["temperature", "Cel", "gauge", "temperature_celsius"],
    ["weird..name__x", "", "gauge", "weird_name_x"],
    ["2xx.responses", "", "gauge", "_2xx_responses"],
    ["ns:metric", "", "gauge", "ns:metric"],
  ] as const)("%p unit %p (%s) → %p", (name, unit, type, expected) => {
    expect(translateMetricName(name, unit, type)).toBe(expected);
  });
});

describe("labels", () => {
  test.each([
    ["org", "org"],
    ["service.name", "service_name"],
    ["http..method", "http_method"],
    ["a._b", "a_b"],
    ["_private", "_private"],
    ["__reserved__", "__reserved__"],
    ["2fa", "key_2fa"],
    ["ünïcode", "_n_code"],
  ])("attribute %p → label %p", (key, label) => {
    expect(translateLabelName(key)).toBe(label);
  });

  test.each(["", "_", "..."])("attribute %p has no label", (key) => {
    expect(translateLabelName(key)).toBeUndefined();
  });

  test("keys that collide are merged like Prometheus does, in key order", () => {
    expect(translateAttributes({ "b.x": "2", b_x: "1", a: "z", n: 3, ok: true, list: ["p", "q"] })).toEqual([
      ["b_x", "2;1"],
      ["a", "z"],
      ["n", "3"],
      ["ok", "true"],
      ["list", '["p","q"]'],
    ]);
  });

  test("label values and help escape backslash, quote and newline", () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    expect(escapeHelp('a\\b"c\nd')).toBe('a\\\\b"c\\nd');
  });
});

describe("number formatting", () => {
  test.each([
    [0, "0"],
    [-0, "0"],
    [42, "42"],
    [1700000000.5, "1700000000.5"],
    [0.1, "0.1"],
    [1e21, "1e+21"],
    [1.5e-7, "1.5e-7"],
    [Number.NaN, "NaN"],
    [Number.POSITIVE_INFINITY, "+Inf"],
    [Number.NEGATIVE_INFINITY, "-Inf"],
  ])("sample %p → %p", (value, text) => {
    expect(formatSampleValue(value)).toBe(text);
  });

  test.each([
    [5, "5"],
    [0.05, "0.05"],
    [2.5, "2.5"],
    [1800, "1800"],
    [1e21, "1000000000000000000000"],
    [1.25e22, "12500000000000000000000"],
    [1e-7, "0.0000001"],
    [-1.5e-7, "-0.00000015"],
    [1.2345e-10, "0.00000000012345"],
  ])("bucket bound %p → le %p", (bound, text) => {
    expect(formatBucketBound(bound)).toBe(text);
  });
});

describe("metrics the text format cannot carry", () => {
  const base: { startTime: [number, number]; endTime: [number, number]; attributes: Record<string, string> } =
    {
      startTime: [0, 0],
      endTime: [0, 0],
      attributes: {},
    };
  function resourceWith(metrics: MetricData[]): ResourceMetrics {
    return { resource: emptyResource(), scopeMetrics: [{ scope: { name: "test" }, metrics }] };
  }

  test("delta sums and histograms, exponential histograms and type clashes are skipped and reported", () => {
    const skipped: Array<[string, string]> = [];
    const descriptor = (name: string) => ({ name, description: "", unit: "", valueType: ValueType.DOUBLE });
    const text = renderPrometheus(
      [
        resourceWith([
          {
            descriptor: descriptor("delta_sum"),
            aggregationTemporality: AggregationTemporality.DELTA,
            dataPointType: DataPointType.SUM,
            isMonotonic: true,
            dataPoints: [{ ...base, value: 1 }],
          },
          {
            descriptor: descriptor("delta_hist"),
            aggregationTemporality: AggregationTemporality.DELTA,
            dataPointType: DataPointType.HISTOGRAM,
            dataPoints: [
              {
                ...base,
                value: { buckets: { boundaries: [1], counts: [1, 0] }, sum: 1, count: 1 },
              },
            ],
          },
          {
            descriptor: descriptor("exp_hist"),
            aggregationTemporality: AggregationTemporality.CUMULATIVE,
            dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
            dataPoints: [
              {
                ...base,
                value: {
                  count: 1,
                  sum: 1,
                  scale: 0,
                  zeroCount: 0,
                  positive: { offset: 0, bucketCounts: [1] },
                  negative: { offset: 0, bucketCounts: [] },
                },
              },
            ],
          },
          {
            descriptor: descriptor("clash"),
            aggregationTemporality: AggregationTemporality.CUMULATIVE,
            dataPointType: DataPointType.GAUGE,
            dataPoints: [{ ...base, value: 1 }],
          },
          {
            descriptor: descriptor("clash"),
            aggregationTemporality: AggregationTemporality.CUMULATIVE,
            dataPointType: DataPointType.HISTOGRAM,
            dataPoints: [
              {
                ...base,
                value: { buckets: { boundaries: [], counts: [1] }, sum: 2, count: 1 },
              },
            ],
          },
        ]),
      ],
      { onSkip: (name, reason) => skipped.push([name, reason]) },
    );
    expect(text).toBe("# TYPE clash gauge\nclash 1\n");
    expect(skipped).toEqual([
      ["delta_sum", "delta temporality is not supported"],
      ["delta_hist", "delta temporality is not supported"],
      ["exp_hist", "exponential histograms have no text exposition"],
      ["clash", "clash is already a gauge, not a histogram"],
    ]);
  });

  test("a histogram without a sum has no _sum line", () => {
    const text = renderPrometheus([
      resourceWith([
        {
          descriptor: { name: "signed", description: "", unit: "", valueType: ValueType.DOUBLE },
          aggregationTemporality: AggregationTemporality.CUMULATIVE,
          dataPointType: DataPointType.HISTOGRAM,
          dataPoints: [{ ...base, value: { buckets: { boundaries: [0], counts: [1, 1] }, count: 2 } }],
        },
      ]),
    ]);
    expect(text).toBe(
      '# TYPE signed histogram\nsigned_bucket{le="0"} 1\nsigned_bucket{le="+Inf"} 2\nsigned_count 2\n',
    );
  });

  test("nothing collected renders as an empty body", () => {
    expect(renderPrometheus([resourceWith([])])).toBe("");
  });
});
