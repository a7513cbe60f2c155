import axios, { AxiosError, type AxiosResponse } from "axios";

import type { DeliveryContext } from "./contract.ts";
import {
  excerptBody,
  isRetryableStatus,
  parseRetryAfter,
  PermanentDeliveryError,
  TransientDeliveryError,
} from "./errors.ts";

/** A request an HTTP adapter sends for one delivery. */
export interface HttpDeliveryRequest {
  url: string;
  method?: "POST" | "PUT";
  body: unknown;
  headers?: Record<string, string>;
  /** Statuses that count as delivered besides 2xx, such as a POS's 409 for a duplicate. */
  acceptStatus?: readonly number[];
}

/**
 * Sends one HTTP request for a delivery, with the delivery's `Idempotency-Key` and time limit,
 * and resolves with the response when it is a success. Network errors, timeouts, 408, 425,
 * 429 and 5xx throw a `TransientDeliveryError`, with `Retry-After` honoured. Every other
 * status throws a `PermanentDeliveryError`.
 */
export async function sendHttp(
  request: HttpDeliveryRequest,
  context: DeliveryContext,
): Promise<AxiosResponse> {
  let response: AxiosResponse;
  try {
    response = await axios.request({
      url: request.url,
      method: request.method ?? "POST",
      data: request.body,
      headers: {
        "Content-Type": "application/json",
        "Idempotency-Key": context.idempotencyKey,
        "User-Agent": "bbot-bridge",
        ...request.headers,
      },
      timeout: context.timeoutMs,
      signal: context.signal,
      validateStatus: () => true,
      maxRedirects: 0,
    });
  } catch (error) {
    throw networkFailure(error);
  }

  const accepted = request.acceptStatus ?? [];
  if (
    (response.status >= 200 && response.status < 300) ||
    accepted.includes(response.status)
  ) {
    return response;
  }
  throw statusFailure(response, context.clock.now());
}

/** Classifies a response with an unsuccessful status. */
export function statusFailure(response: AxiosResponse, now: number): Error {
  const details = {
    status: response.status,
    bodyExcerpt: excerptBody(response.data),
    retryAfterMs: parseRetryAfter(response.headers["retry-after"], now),
  };
  const message = `destination answered HTTP ${response.status}`;
  return isRetryableStatus(response.status)
    ? new TransientDeliveryError(message, details)
    : new PermanentDeliveryError(message, details);
}

/** Classifies an error thrown before any response arrived: always worth a retry. */
export function networkFailure(error: unknown): Error {
  if (error instanceof AxiosError) {
    const reason =
      error.code === "ECONNABORTED" || error.code === "ERR_CANCELED"
        ? "timed out"
        : (error.code ?? error.message);
    return new TransientDeliveryError(
      `request failed: ${reason}`,
      {},
      { cause: error },
    );
  }
  return new TransientDeliveryError(
    `request failed: ${(error as Error).message}`,
    {},
    { cause: error },
  );
}
