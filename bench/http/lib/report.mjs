/** Tables for stdout (markdown, so they paste into the README as they are). */

const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : NaN);
const fmtRatio = (r) => (Number.isFinite(r) ? `${r.toFixed(2)}x` : 'n/a');

export const MiB = 1024 * 1024;

export function median(values) {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** results.scenarios[name].servers[key] = { label, median: {rps, mbps, p99Ms}, errors, na } */
export function throughputTable(results) {
  const lines = [
    '| scenario | server | req/s | MB/s | p99 ms | server CPU % | CPU us/req | errors | node / this (req/s) |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const [name, sc] of Object.entries(results.scenarios)) {
    const node = sc.servers.node?.median;
    for (const [key, s] of Object.entries(sc.servers)) {
      if (s.na !== undefined) {
        lines.push(`| ${name} | ${s.label} | n/a | n/a | n/a | | | | ${s.na} |`);
        continue;
      }
      const m = s.median;
      const r = key === 'node' ? '' : fmtRatio(ratio(node?.rps, m.rps));
      lines.push(`| ${name} | ${s.label} | ${fmt(m.rps)} | ${fmt(m.mbps, 1)} | ${fmt(m.p99Ms, 2)} | ${fmt(m.serverCpuPct)} | ${fmt(m.serverCpuUsPerReq)} | ${s.errorCount} | ${r} |`);
    }
  }
  return lines.join('\n');
}

export function ratioRows(results) {
  const rows = [];
  const sc = results.scenarios;
  const get = (scn, key, field) => sc[scn]?.servers[key]?.median?.[field];
  for (const name of Object.keys(sc)) {
    const node = (f) => get(name, 'node', f);
    rows.push({
      scenario: name,
      vsNginxRps: ratio(node('rps'), get(name, 'nginx', 'rps')),
      vsNginxMbps: ratio(node('mbps'), get(name, 'nginx', 'mbps')),
      vsBareRps: ratio(node('rps'), get(name, 'bare', 'rps')),
      vsNginxAutoRps: ratio(node('rps'), get(name, 'nginx-auto', 'rps')),
      vsBareMemRps: ratio(node('rps'), get(name, 'bare-mem', 'rps')),
      // CPU per request, the other way round (higher = the node is closer): steadier than req/s on a busy machine
      cpuVsNginx: ratio(get(name, 'nginx', 'serverCpuUsPerReq'), node('serverCpuUsPerReq')),
      cpuVsBare: ratio(get(name, 'bare', 'serverCpuUsPerReq'), node('serverCpuUsPerReq')),
    });
  }
  return rows;
}

export function targetLines(results) {
  const lines = [];
  const sc = results.scenarios;
  const check = (label, value, target, better) => {
    const ok = Number.isFinite(value) ? (better === 'higher' ? value >= target : value < target) : undefined;
    lines.push(`${label}: ${Number.isFinite(value) ? value.toFixed(2) : 'n/a'} (target ${better === 'higher' ? '>=' : '<'} ${target}) ${ok === undefined ? 'NOT MEASURED' : ok ? 'MET' : 'MISSED'}`);
    return ok;
  };
  const r = (scn, field) => ratio(sc[scn]?.servers.node?.median?.[field], sc[scn]?.servers.nginx?.median?.[field]);
  const targets = {};
  const cpu = (scn) => ratio(sc[scn]?.servers.nginx?.median?.serverCpuUsPerReq, sc[scn]?.servers.node?.median?.serverCpuUsPerReq);
  if (sc['GET 4 KiB']) {
    targets.get4kVsNginx = check('4 KiB GET req/s, node / nginx', r('GET 4 KiB', 'rps'), 0.5, 'higher');
    lines.push(`  (CPU per request, nginx / node: ${Number.isFinite(cpu('GET 4 KiB')) ? cpu('GET 4 KiB').toFixed(2) : 'n/a'}; steadier than req/s when the machine is shared)`);
  }
  if (sc['GET 1 MiB']) {
    targets.get1mVsNginx = check('1 MiB GET MB/s,  node / nginx', r('GET 1 MiB', 'mbps'), 0.5, 'higher');
    lines.push(`  (CPU per request, nginx / node: ${Number.isFinite(cpu('GET 1 MiB')) ? cpu('GET 1 MiB').toFixed(2) : 'n/a'})`);
  }
  if (results.rss && results.rss.growthMiB !== undefined) targets.rss = check(`RSS growth over a ${results.rss.sizeMiB} MiB upload + download, MiB`, results.rss.growthMiB, 64, 'lower');
  return { lines, targets };
}

export function ratioTable(results) {
  const rows = ratioRows(results);
  const auto = rows.some((r) => Number.isFinite(r.vsNginxAutoRps));
  const mem = rows.some((r) => Number.isFinite(r.vsBareMemRps));
  const lines = [
    `| scenario | req/s node / nginx (1 worker) | req/s node / bare node:http |${auto ? ' req/s node / nginx (auto workers) |' : ''}${mem ? ' req/s node / bare node:http (RAM) |' : ''} CPU per request nginx / node | CPU per request bare / node |`,
    `|---|---:|---:|${auto ? '---:|' : ''}${mem ? '---:|' : ''}---:|---:|`,
  ];
  for (const row of rows) {
    lines.push(`| ${row.scenario} | ${fmtRatio(row.vsNginxRps)} | ${fmtRatio(row.vsBareRps)} |${auto ? ` ${fmtRatio(row.vsNginxAutoRps)} |` : ''}${mem ? ` ${fmtRatio(row.vsBareMemRps)} |` : ''} ${fmtRatio(row.cpuVsNginx)} | ${fmtRatio(row.cpuVsBare)} |`);
  }
  return lines.join('\n');
}

export function rssTable(rss) {
  if (rss === undefined) return '';
  if (rss.skipped) return `RSS: skipped (${rss.skipped})`;
  const m = (b) => (b / MiB).toFixed(1);
  return [
    `| node RSS, ${rss.sizeMiB} MiB blob | MiB |`,
    '|---|---:|',
    `| before (idle, after one small PUT+GET) | ${m(rss.baselineBytes)} |`,
    `| peak during upload (${rss.upload.seconds.toFixed(1)} s, ${(rss.upload.mbps).toFixed(0)} MB/s) | ${m(rss.peakUploadBytes)} |`,
    `| peak during download (${rss.download.seconds.toFixed(1)} s, ${(rss.download.mbps).toFixed(0)} MB/s) | ${m(rss.peakDownloadBytes)} |`,
    `| VmHWM at the end | ${m(rss.hwmBytes)} |`,
    `| **growth** (max peak - before) | **${rss.growthMiB.toFixed(1)}** |`,
    `| sha256 of the download matches | ${rss.sha256Match ? 'yes' : 'NO'} |`,
  ].join('\n');
}
