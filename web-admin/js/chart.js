// Small line charts on a canvas: a rolling window of samples per series.
import { h } from "./dom.js";

const COLORS = ["#2457d6", "#13804a", "#c2293b", "#a35d00", "#7a3fd1"];

/** A titled panel holding one chart: `{ el, chart }`. */
export function chartPanel(title, options = {}) {
  const canvas = h("canvas", { role: "img", "aria-label": title });
  return { el: h("div", { class: "panel chart" }, h("h3", {}, title), canvas), chart: new LineChart(canvas, options) };
}

export class LineChart {
  constructor(canvas, { window = 120, unit = "", bytes = false } = {}) {
    this.canvas = canvas;
    this.window = window;
    this.unit = unit;
    this.label = bytes ? formatBytesShort : format;
    this.title = canvas.getAttribute("aria-label") ?? "";
    this.series = new Map();
  }

  push(name, value) {
    const points = this.series.get(name) ?? [];
    points.push(Number.isFinite(value) ? value : 0);
    if (points.length > this.window) points.shift();
    this.series.set(name, points);
  }

  draw() {
    const c = this.canvas;
    // Screen readers get the latest values instead of the picture.
    const latest = [...this.series].map(([name, points]) => `${name} ${this.label(points.at(-1) ?? 0)}${this.unit}`);
    c.setAttribute("aria-label", `${this.title}: ${latest.join(", ")}`);
    const ratio = window.devicePixelRatio || 1;
    const width = c.clientWidth || 300;
    const height = c.clientHeight || 160;
    if (c.width !== width * ratio) {
      c.width = width * ratio;
      c.height = height * ratio;
    }
    const g = c.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, width, height);
    const style = getComputedStyle(document.documentElement);
    const muted = style.getPropertyValue("--muted").trim() || "#888";
    const line = style.getPropertyValue("--line").trim() || "#ddd";
    let max = 4;
    for (const points of this.series.values()) for (const p of points) max = Math.max(max, p);
    max = niceCeiling(max);
    const left = 44;
    const bottom = height - 18;
    g.strokeStyle = line;
    g.fillStyle = muted;
    g.font = "11px system-ui, sans-serif";
    for (let i = 0; i <= 2; i++) {
      const y = 6 + ((bottom - 6) * i) / 2;
      g.beginPath();
      g.moveTo(left, y);
      g.lineTo(width, y);
      g.stroke();
      g.fillText(this.label(max - (max * i) / 2) + this.unit, 2, y + 4);
    }
    g.fillText(`last ${this.window} s`, left, height - 4);
    let i = 0;
    for (const [name, points] of this.series) {
      const color = COLORS[i++ % COLORS.length];
      g.strokeStyle = color;
      g.lineWidth = 1.6;
      g.beginPath();
      points.forEach((p, k) => {
        const x = left + ((width - left) * (k + this.window - points.length)) / (this.window - 1);
        const y = bottom - ((bottom - 6) * p) / max;
        k === 0 ? g.moveTo(x, y) : g.lineTo(x, y);
      });
      g.stroke();
      if (this.series.size > 1) {
        g.fillStyle = color;
        g.fillText(name, width - 8 - g.measureText(name).width, 16 + 13 * (i - 1));
      }
    }
  }
}

function niceCeiling(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function formatBytesShort(v) {
  if (v >= 1024 * 1024) return `${(v / 1024 / 1024).toFixed(1)}M`;
  if (v >= 1024) return `${(v / 1024).toFixed(0)}K`;
  return `${Math.round(v)}`;
}

export function format(v) {
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  if (v < 10 && !Number.isInteger(v)) return v.toFixed(1);
  return `${Math.round(v)}`;
}
