import { describe, expect, it } from 'vitest';
import { JobFilters } from '../src/web/components/jobs-table.js';
import { FilterSelect } from '../src/web/components/ui.js';

describe('list filter selects', () => {
  it('label the select for screen readers, offer "all" as the empty value first and mark the chosen option', async () => {
    const html = String(await FilterSelect({ id: 'f-x', name: 'x', label: 'Colour', all: 'Any colour', options: ['red', 'blue'], selected: 'blue' }));
    expect(html).toBe('<label class="sr-only" for="f-x">Colour</label><select id="f-x" name="x"><option value="">Any colour</option><option value="red">red</option><option value="blue" selected="">blue</option></select>');
  });

  it('the jobs filter keeps both selects, each with its own choice', async () => {
    const html = String(await JobFilters({ action: '/jobs', filter: { status: 'failed', kind: 'prune' } }));
    expect(html).toContain('<option value="failed" selected="">failed</option>');
    expect(html).toContain('<option value="prune" selected="">prune</option>');
    expect(html.match(/<option value="">/g)).toHaveLength(2);
  });
});
