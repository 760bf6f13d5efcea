// Vitest reporter that ends the run with the plain line CI reads: `N passed, N failed, N skipped`,
// over every project (the server and e2e files run once on SQLite and once on PostgreSQL:
// vitest.config.ts); a line per project comes just before it. A file that failed outside its
// tests (an import error, a failing beforeAll/afterAll hook) counts as one failure, and so does
// every unhandled error, so the line never says 0 failed when vitest exits non-zero.
export default class SummaryReporter {
  onTestRunEnd(testModules, unhandledErrors = []) {
    const total = { passed: 0, failed: 0, skipped: 0 };
    const byProject = new Map();
    for (const mod of testModules) {
      const name = mod.project?.name || 'default';
      if (!byProject.has(name)) byProject.set(name, { passed: 0, failed: 0, skipped: 0, files: 0 });
      const p = byProject.get(name);
      p.files++;
      let failedHere = 0;
      for (const t of mod.children.allTests()) {
        const s = t.result().state;
        if (s === 'failed') failedHere++;
        else {
          const k = s === 'passed' ? 'passed' : 'skipped';
          p[k]++;
          total[k]++;
        }
      }
      if (mod.state() === 'failed' && failedHere === 0) failedHere = 1;
      p.failed += failedHere;
      total.failed += failedHere;
    }
    total.failed += unhandledErrors.length;
    let out = '\n';
    if (byProject.size > 1) for (const [name, p] of byProject) out += `${name}: ${p.files} files, ${p.passed} passed, ${p.failed} failed, ${p.skipped} skipped\n`;
    process.stdout.write(`${out}${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped\n`);
  }
}
