import { describe, expect, it } from 'vitest'
import { DAY_MS, dayNumber, localMidnight, TenantCalendar } from '../src/calendar.js'
import { apportion, seededRandom } from '../src/random.js'
import { instant } from '../src/source-tables.js'

describe('the seeded random streams', () => {
  it('repeat for the same seed and labels and differ otherwise', () => {
    const draw = (seed: number, ...labels: number[]) => {
      const r = seededRandom(seed, ...labels)
      return Array.from({ length: 5 }, () => r.next())
    }
    expect(draw(42, 1, 2)).toEqual(draw(42, 1, 2))
    expect(draw(42, 1, 2)).not.toEqual(draw(43, 1, 2))
    expect(draw(42, 1, 2)).not.toEqual(draw(42, 2, 1))
    expect(draw(2 ** 40, 1)).not.toEqual(draw(2 ** 40 + 2 ** 32, 1))
  })
})

describe('apportion', () => {
  it('adds up exactly and never gives a larger weight less', () => {
    const r = seededRandom(9)
    for (let round = 0; round < 200; round++) {
      const weights = Array.from({ length: r.int(1, 30) }, () => (r.chance(0.2) ? 0 : r.next()))
      const total = r.int(0, 10_000)
      const parts = apportion(total, weights)
      const sum = weights.reduce((a, b) => a + b, 0)
      expect(parts.reduce((a, b) => a + b, 0)).toBe(sum === 0 ? 0 : total)
      for (let i = 0; i < weights.length; i++) {
        for (let j = 0; j < weights.length; j++) {
          if ((weights[i] as number) > (weights[j] as number)) {
            expect(parts[i]).toBeGreaterThanOrEqual(parts[j] as number)
          }
        }
      }
    }
  })
})

describe('local days', () => {
  it('finds midnights in half-hour zones and across daylight-saving changes', () => {
    expect(new Date(localMidnight(dayNumber('2024-03-10'), 'Asia/Kolkata')).toISOString()).toBe(
      '2024-03-09T18:30:00.000Z',
    )
    expect(new Date(localMidnight(dayNumber('2024-03-10'), 'America/New_York')).toISOString()).toBe(
      '2024-03-10T05:00:00.000Z',
    )
    expect(new Date(localMidnight(dayNumber('2024-03-11'), 'America/New_York')).toISOString()).toBe(
      '2024-03-11T04:00:00.000Z',
    )
    const cal = new TenantCalendar('America/New_York', Date.parse('2024-03-12T12:00:00Z'), 10)
    expect(cal.firstDay).toBe(dayNumber('2024-03-03'))
    expect(cal.length(7)).toBe(DAY_MS - 3_600_000) // 2024-03-10, clocks forward
    expect(cal.dayOf(Date.parse('2024-03-10T04:59:59.999Z'))).toBe(6)
    expect(cal.isWeekend(7)).toBe(true)
  })

  it('formats instants exactly as toISOString does', () => {
    const r = seededRandom(3)
    for (let i = 0; i < 10_000; i++) {
      const ms = r.int(0, 4_102_444_800_000)
      expect(instant(ms)).toBe(new Date(ms).toISOString())
    }
    expect(instant(Number.NaN)).toBeNull()
  })
})
