import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dateFields, derive, parseDerived } from '../../../server/engine/runtime/derive';
import { ModelOpsError } from '../../../server/engine/errors';

test('derivations match pandas (dt.month, dt.dayofyear, dt.weekday, …) on leap and common years', () => {
  // Values as pandas (and Python's datetime: month, day, timetuple().tm_yday, weekday()) give them.
  const cases: Array<[string, number, number, number, number, number]> = [
    // date, month, day, dayofyear, weekday (Mon=0), year
    ['2012-01-01', 1, 1, 1, 6, 2012],
    ['2012-02-29', 2, 29, 60, 2, 2012],
    ['2012-03-01', 3, 1, 61, 3, 2012],
    ['2012-12-31', 12, 31, 366, 0, 2012],
    ['2013-03-01', 3, 1, 60, 4, 2013],
    ['2015-12-31', 12, 31, 365, 3, 2015],
    ['2000-03-01', 3, 1, 61, 2, 2000],
    ['1900-03-01', 3, 1, 60, 3, 1900],
  ];
  for (const [d, month, day, doy, weekday, year] of cases) {
    assert.deepEqual(
      [derive('month', d), derive('day', d), derive('dayofyear', d), derive('weekday', d), derive('year', d)],
      [month, day, doy, weekday, year],
      d,
    );
  }
  assert.equal(derive('hour', '2015-06-01T13:45:00'), 13);
  assert.equal(derive('hour', '2015-06-01 07:00'), 7);
  // The written calendar date counts, not a time-zone shift of it.
  assert.equal(derive('day', '2015-06-01T23:30:00-08:00'), 1);
  assert.equal(derive('month', new Date(Date.UTC(2014, 10, 5))), 11);
});

test('values that are not dates give null', () => {
  for (const v of [
    '2013-02-30',
    '2013-13-01',
    '2013-00-10',
    '28/02/2013',
    '',
    'soon',
    null,
    undefined,
    42,
    '2015-06-01T25:00',
  ]) {
    assert.equal(dateFields(v), null, String(v));
  }
  assert.equal(derive('month', new Date('nope')), null);
});

test('derived specs parse; unknown functions are errors naming the column and expression', () => {
  const m = parseDerived({ month: 'month(date)', doy: ' dayofyear( date ) ' }, 'modelops.json');
  assert.deepEqual(
    [...m.values()],
    [
      { column: 'month', fn: 'month', source: 'date' },
      { column: 'doy', fn: 'dayofyear', source: 'date' },
    ],
  );
  assert.equal(parseDerived(undefined, 'x').size, 0);
  assert.throws(
    () => parseDerived({ q: 'quarter(date)' }, 'modelops.json'),
    (e: unknown) =>
      e instanceof ModelOpsError &&
      e.message.includes("modelops.json: derived input 'q'") &&
      e.message.includes('month(column)'),
  );
  assert.throws(() => parseDerived({ q: 'month()' }, 'x'), ModelOpsError);
  assert.throws(() => parseDerived({ q: 'month(a)(b)' }, 'x'), ModelOpsError);
});
