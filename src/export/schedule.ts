import cron from "node-cron";

import { businessDateOf, shiftDate } from "../bbot/business-date.ts";
import type { RestaurantConfig } from "../config/schema.ts";

/** A scheduled job that can be cancelled. */
export interface ScheduledJob {
  destroy(): void | Promise<void>;
}

/** Options passed to the scheduler for each restaurant's nightly run. */
export interface ScheduleOptions {
  timezone: string;
  name: string;
  noOverlap: boolean;
}

/** Schedules a task on a cron expression; node-cron's `schedule` by default, a fake in tests. */
export type CronScheduler = (
  expression: string,
  task: () => Promise<unknown>,
  options: ScheduleOptions,
) => ScheduledJob;

/** Schedules with node-cron 4, which starts the job at once. */
export const nodeCronScheduler: CronScheduler = (expression, task, options) =>
  cron.schedule(expression, () => task(), options);

/** Returns the daily cron expression of a `HH:MM` time: minute, hour, then every day. */
export function cronExpressionOf(scheduleTime: string): string {
  const [hour, minute] = scheduleTime.split(":");
  return `${Number(minute)} ${Number(hour)} * * *`;
}

/**
 * Returns the last finished business date at `now`. A date D is finished once the clock has
 * passed the cutoff hour of D+1 in the restaurant's time zone, which is exactly when the
 * business date of `now` moves past D+1's predecessor.
 */
export function lastFinishedDate(
  now: number,
  restaurant: RestaurantConfig,
): string {
  const today = businessDateOf(
    now,
    restaurant.timeZone,
    restaurant.businessDayCutoffHour,
  );
  return shiftDate(today, -1);
}

/** Tells whether a business date is finished at `now`. */
export function isFinished(
  businessDate: string,
  now: number,
  restaurant: RestaurantConfig,
): boolean {
  return businessDate <= lastFinishedDate(now, restaurant);
}

/**
 * Lists, oldest first, the finished dates a catch-up looks at: the last `days` dates up to
 * `lastFinished`, none before `earliest` (the first date with stored orders).
 */
export function catchUpDates(
  lastFinished: string,
  days: number,
  earliest: string | undefined,
): string[] {
  const dates: string[] = [];
  for (let back = days - 1; back >= 0; back -= 1) {
    const date = shiftDate(lastFinished, -back);
    if (earliest === undefined || date >= earliest) dates.push(date);
  }
  return dates;
}
