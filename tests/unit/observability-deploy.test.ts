/**
 * The Grafana dashboard and Prometheus alert rules under deploy/observability
 * only name metrics the bot really exports (PromQL parsed for metric names,
 * checked against the bot's own registry), the dashboard shows every metric of
 * the bot's own, and docker-compose.fullstack.yml wires them up: Prometheus
 * scrapes the bot's metrics port and loads the rules, Grafana gets the data
 * source and dashboard the files name.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { asAgentId } from "../../src/core/ids.js";
import { Metrics } from "../../src/observability/metrics.js";

const root = path.resolve(import.meta.dirname, "../..");
const read = (f: string): string => readFileSync(path.join(root, f), "utf8");
const yaml = <T>(f: string): T => parse(read(f), { merge: true }) as T;

// Functions, aggregations and keywords of PromQL that look like identifiers.
const KEYWORDS = new Set(["and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan"]);

/** The metric names a PromQL expression (or a Grafana label_values() query) selects. */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/label_values\(\s*([a-zA-Z_:][\w:]*)\s*(,[^)]*)?\)/g, " $1 ")
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, " ")
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    // numbers and durations (offset 1h)
    .replace(/(^|[^\w:])\d+(\.\d+)?(e[+-]?\d+)?(ms|[smhdwy])?\b/gi, "$1 ");
  const names = new Set<string>();
  for (const m of bare.matchAll(/([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    const [, name = "", call] = m;
    if (call || KEYWORDS.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names];
}

/** Every series name the bot's registry exposes (histograms as _bucket/_sum/_count), plus Prometheus's own `up`. */
async function exportedSeries(defaultMetrics: boolean): Promise<Set<string>> {
  const metrics = new Metrics({ defaultMetrics });
  metrics.bindSources({ queueDepth: () => 0, agentIds: () => [asAgentId("a")], agents: { status: () => "connected" } });
  const series = new Set<string>(["up"]);
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    const type = String(m.type);
    if (type === "histogram") for (const s of ["_bucket", "_sum", "_count"]) series.add(`${m.name}${s}`);
    else if (type === "summary") for (const s of ["", "_sum", "_count"]) series.add(`${m.name}${s}`);
    else series.add(m.name);
  }
  return series;
}

interface Target {
  expr: string;
  datasource?: { uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
}
interface Dashboard {
  uid: string;
  panels: Panel[];
  templating: { list: Array<{ query: { query: string } | string; datasource?: { uid: string } }> };
}
interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const dashboardFile = "deploy/observability/grafana/dashboards/surfaces.json";
const dashboard = JSON.parse(read(dashboardFile)) as Dashboard;
const rules = yaml<{ groups: Array<{ name: string; rules: Rule[] }> }>("deploy/observability/alerts.yml").groups.flatMap(
  (g) => g.rules,
);
const dashboardExprs = [
  ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
  ...dashboard.templating.list.map((v) => (typeof v.query === "string" ? v.query : v.query.query)),
];

describe("metricNames (the PromQL reader the checks below rely on)", () => {
  it("finds selected metrics and nothing else", () => {
    expect(
      metricNames('sum by (agent, le) (rate(foo_total{state="x",agent=~"$agent"}[5m])) / on (agent) bar:ratio > 0.2 and 1e-9 < baz'),
    ).toEqual(["foo_total", "bar:ratio", "baz"]);
    expect(metricNames("histogram_quantile(0.95, sum without (instance) (rate(h_bucket[15m] offset 1h)))")).toEqual(["h_bucket"]);
    expect(metricNames("label_values(surfaces_turns_started_total, agent)")).toEqual(["surfaces_turns_started_total"]);
  });
});

describe("deploy/observability", () => {
  it("the dashboard and the alert rules only use metrics the bot exports", async () => {
    const known = await exportedSeries(true);
    const used = [...dashboardExprs, ...rules.map((r) => r.expr)].flatMap((e) => metricNames(e).map((n) => ({ n, e })));
    expect(used.length).toBeGreaterThan(30);
    for (const { n, e } of used) expect(known.has(n), `${n} in: ${e}`).toBe(true);
  });

  it("the dashboard shows every metric of the bot's own, and the rules cover turns, latency, 429s, agents and the queue", async () => {
    const own = [...(await exportedSeries(false))].filter((n) => n !== "up");
    const shown = new Set(dashboardExprs.flatMap(metricNames));
    const base = (n: string) => n.replace(/_(bucket|sum|count)$/, "");
    for (const name of new Set(own.map(base))) {
      expect([...shown].some((s) => base(s) === name), `${name} on the dashboard`).toBe(true);
    }
    const alerted = new Set(rules.flatMap((r) => metricNames(r.expr)).map(base));
    for (const name of [
      "surfaces_turns_failed_total",
      "surfaces_turn_first_text_seconds",
      "surfaces_matrix_rate_limited_total",
      "surfaces_agent_connection_state",
      "surfaces_queue_depth",
      "up",
    ]) {
      expect(alerted.has(name), name).toBe(true);
    }
  });

  it("every alert has a name, a severity and a summary; names are unique", () => {
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
    for (const r of rules) {
      expect(r.alert).toMatch(/^Surfaces[A-Z]\w+$/);
      expect(["warning", "critical"], r.alert).toContain(r.labels?.["severity"]);
      expect(r.annotations?.["summary"], r.alert).toBeTruthy();
      if (r.for !== undefined) expect(r.for).toMatch(/^\d+[smh]$/);
    }
  });

  it("every dashboard query uses the provisioned data source, and panels have unique ids inside the 24-column grid", () => {
    const ds = yaml<{ datasources: Array<{ uid: string; url: string }> }>(
      "deploy/observability/grafana/provisioning/datasources/prometheus.yml",
    ).datasources;
    const uid = ds[0]?.uid;
    expect(ds[0]?.url).toBe("http://prometheus:9090");
    for (const p of dashboard.panels) {
      if (p.type === "row") continue;
      expect(p.datasource?.uid, p.title).toBe(uid);
      for (const t of p.targets ?? []) expect(t.datasource?.uid, p.title).toBe(uid);
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
    }
    for (const v of dashboard.templating.list) expect(v.datasource?.uid).toBe(uid);
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
  });

  it("docker-compose.fullstack.yml mounts what Prometheus and Grafana are configured to read, and Prometheus scrapes the bot's metrics port", () => {
    interface Service {
      volumes?: string[];
      environment?: Record<string, string>;
      command?: string[];
    }
    const services = yaml<{ services: Record<string, Service> }>("docker-compose.fullstack.yml").services;
    const mounts = (s: Service | undefined) =>
      new Map((s?.volumes ?? []).map((v) => v.split(":")).map(([src = "", dst = ""]) => [dst, src]));

    const prom = yaml<{ rule_files: string[]; scrape_configs: Array<{ metrics_path: string; static_configs: Array<{ targets: string[] }> }> }>(
      "deploy/observability/prometheus.yml",
    );
    const pm = mounts(services["prometheus"]);
    expect(pm.get("/etc/prometheus/prometheus.yml")).toBe("./deploy/observability/prometheus.yml");
    for (const f of prom.rule_files) expect(pm.get(f), f).toBe("./deploy/observability/alerts.yml");
    expect(services["prometheus"]?.command).toContain("--config.file=/etc/prometheus/prometheus.yml");
    const botPort = (services["bot"]?.environment?.["SURFACES_HTTP_ADDR"] ?? "").split(":")[1];
    expect(prom.scrape_configs[0]?.static_configs[0]?.targets).toEqual([`bot:${botPort}`]);
    expect(prom.scrape_configs[0]?.metrics_path).toBe("/metrics");

    const provider = yaml<{ providers: Array<{ options: { path: string } }> }>(
      "deploy/observability/grafana/provisioning/dashboards/surfaces.yml",
    ).providers[0];
    const gm = mounts(services["grafana"]);
    expect(gm.get("/etc/grafana/provisioning")).toBe("./deploy/observability/grafana/provisioning");
    expect(gm.get(provider?.options.path ?? "")).toBe(`./${path.posix.dirname(dashboardFile)}`);
    const home = services["grafana"]?.environment?.["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"] ?? "";
    expect(path.posix.join(provider?.options.path ?? "", path.posix.basename(dashboardFile))).toBe(home);
  });
});
