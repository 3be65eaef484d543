// Charts: every <figure class="chart"> holding <script type="application/json" class="chart-data">
// becomes a uPlot chart (vendored in static/vendor). The server sends data already downsampled
// for the screen; a chart with "detailUrl" asks for full resolution when the owner zooms in.
// Spec: {x: [...], xKind: "date"|"seconds"|"distance"|"value", xLog, xLabel, xUnit, height, detailUrl,
//        series: [{label, unit, values: [...], color, scale, kind: "line"|"bars"|"area",
//                  dash, width, digits, format: "seconds" (m:ss), invert (scale upside down)}]}
// Charts are drawn again after HTMX swaps (htmx:load) and follow their container's width.
(function () {
  "use strict";
  const PALETTE = ["#0b6bcb", "#d0452f", "#2e8b57", "#8e44ad", "#d68910", "#16a0a0", "#7f8c8d"];
  const charts = new WeakMap();

  function cssVar(name, fallback) {
    const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function formatSeconds(seconds) {
    const s = Math.round(seconds);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const r = s % 60;
    const mm = String(m).padStart(2, "0");
    const rr = String(r).padStart(2, "0");
    return h ? `${h}:${mm}:${rr}` : `${m}:${rr}`;
  }

  function xAxis(spec, locale, grid) {
    const base = { stroke: cssVar("--muted", "#5d6570"), grid: { stroke: grid }, ticks: { stroke: grid } };
    if (spec.xKind === "seconds") {
      return { ...base, values: (u, splits) => splits.map(formatSeconds) };
    }
    if (spec.xKind === "distance") {
      return { ...base, values: (u, splits) => splits.map((v) => (v / 1000).toLocaleString(locale, { maximumFractionDigits: 1 }) + " km") };
    }
    if (spec.xKind === "date") {
      return { ...base, values: (u, splits, axis, space, step) => dateTicks(splits, step, locale) };
    }
    return base;
  }

  // Date ticks in the page's language (uPlot's own are English: "Oct", "12am"): years, months
  // (with the year on January and on the first tick) or days, by the step between ticks; a
  // step shorter than a day labels only the ticks at midnight. The x values are UTC midnights
  // of the owner's days, so they are formatted in UTC.
  function dateTicks(splits, step, locale) {
    const month = new Intl.DateTimeFormat(locale, { month: "short", timeZone: "UTC" });
    const monthYear = new Intl.DateTimeFormat(locale, { year: "numeric", month: "short", timeZone: "UTC" });
    const year = new Intl.DateTimeFormat(locale, { year: "numeric", timeZone: "UTC" });
    const day = new Intl.DateTimeFormat(locale, { month: "numeric", day: "numeric", timeZone: "UTC" });
    return splits.map((v, i) => {
      const date = new Date(v * 1000);
      if (step >= 300 * 86400) return year.format(date);
      if (step >= 28 * 86400) return i === 0 || date.getUTCMonth() === 0 ? monthYear.format(date) : month.format(date);
      return step >= 86400 || v % 86400 === 0 ? day.format(date) : "";
    });
  }

  function dateValue(locale) {
    const format = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeZone: "UTC" });
    return (u, v) => (v == null ? "—" : format.format(new Date(v * 1000)));
  }

  function valueFormatter(series, locale) {
    const digits = series.digits ?? 0;
    const unit = series.unit ? " " + series.unit : "";
    if (series.format === "seconds") return (u, v) => (v == null ? "—" : formatSeconds(v) + unit);
    return (u, v) => (v == null ? "—" : v.toLocaleString(locale, { maximumFractionDigits: digits, minimumFractionDigits: digits }) + unit);
  }

  function build(figure) {
    const holder = figure.querySelector("script.chart-data");
    if (!holder || charts.has(figure) || typeof uPlot === "undefined") return;
    const spec = JSON.parse(holder.textContent);
    const locale = document.documentElement.lang || undefined;
    const grid = cssVar("--line", "#dde1e6");
    const scales = { x: spec.xLog ? { time: false, distr: 3, log: 10 } : { time: spec.xKind === "date" } };
    const axes = [xAxis(spec, locale, grid)];
    const seenScales = [];
    const xValue = (u, v) => {
      if (v == null) return "—";
      if (spec.xKind === "seconds") return formatSeconds(v);
      if (spec.xKind === "distance") return (v / 1000).toLocaleString(locale, { maximumFractionDigits: 2 }) + " km";
      return v.toLocaleString(locale, { maximumFractionDigits: 2 }) + (spec.xUnit ? " " + spec.xUnit : "");
    };
    const series = [{ label: spec.xLabel || "", value: spec.xKind === "date" ? dateValue(locale) : xValue }];
    spec.series.forEach((s, i) => {
      const color = s.color || PALETTE[i % PALETTE.length];
      const scale = s.scale || "y";
      if (!seenScales.includes(scale)) {
        seenScales.push(scale);
        scales[scale] = s.range ? { range: s.range } : {};
        if (s.invert) scales[scale].dir = -1; // pace: faster is up
        axes.push({
          scale,
          values: s.format === "seconds" ? (u, splits) => splits.map(formatSeconds) : undefined,
          side: seenScales.length % 2 ? 3 : 1,
          stroke: seenScales.length > 1 ? color : cssVar("--muted", "#5d6570"),
          grid: { show: seenScales.length === 1, stroke: grid },
          ticks: { stroke: grid },
          size: 52,
        });
      }
      const entry = {
        label: s.label,
        scale,
        stroke: color,
        width: s.width ?? 1.5,
        value: valueFormatter(s, locale),
        spanGaps: false,
        points: { show: s.kind === "points" },
      };
      if (s.dash) entry.dash = s.dash;
      if (s.kind === "bars") {
        entry.paths = uPlot.paths.bars({ size: [0.8, 40] });
        entry.fill = color + "99";
      } else if (s.kind === "area") {
        entry.fill = color + "33";
      } else if (s.kind === "points") {
        entry.paths = () => null;
        entry.points = { show: true, size: 5, fill: color };
      }
      series.push(entry);
    });
    const data = [spec.x, ...spec.series.map((s) => s.values)];
    const options = {
      width: Math.max(figure.clientWidth, 200),
      height: spec.height || 220,
      scales,
      axes,
      series,
      legend: { live: true },
      cursor: { drag: { x: true, y: false }, focus: { prox: 24 } },
      hooks: {},
    };
    if (spec.xKind === "date") {
      options.tzDate = (ts) => uPlot.tzDate(new Date(ts * 1e3), "UTC");
    }
    if (spec.detailUrl) {
      let timer = null;
      options.hooks.setScale = [
        (u, key) => {
          if (key !== "x") return;
          clearTimeout(timer);
          timer = setTimeout(() => detail(u, spec), 250);
        },
      ];
    }
    const target = document.createElement("div");
    target.className = "chart-canvas";
    figure.insertBefore(target, figure.firstChild);
    const chart = new uPlot(options, data, target);
    charts.set(figure, chart);
    new ResizeObserver(() => chart.setSize({ width: Math.max(figure.clientWidth, 200), height: options.height })).observe(figure);
  }

  async function detail(u, spec) {
    const min = u.scales.x.min;
    const max = u.scales.x.max;
    const full = spec.x.length ? [spec.x[0], spec.x[spec.x.length - 1]] : [min, max];
    const url = new URL(spec.detailUrl, window.location.href);
    const zoomed = min > full[0] || max < full[1];
    if (zoomed) {
      url.searchParams.set("start", String(min));
      url.searchParams.set("end", String(max));
    }
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const body = await response.json();
    u.setData([body.x, ...body.series.map((s) => s.values)], false);
  }

  function scan(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("figure.chart").forEach(build);
  }

  document.addEventListener("DOMContentLoaded", () => scan(document));
  document.addEventListener("htmx:load", (event) => scan(event.target));
})();
