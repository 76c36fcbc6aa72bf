/**
 * Where the live view listens: `--view [HOST:]PORT`. Loopback unless a host is given, so a robot
 * never shows its camera to the network by accident; 8765 is Foxglove's default port.
 */
import net from "node:net";
import { FoveaInputError } from "../core/errors.js";

export const DEFAULT_VIEW_HOST = "127.0.0.1";
export const DEFAULT_VIEW_PORT = 8765;

export interface ViewAddress {
  host: string;
  /** 0: any free port (tests). */
  port: number;
}

const EXPECTED = "expected [HOST:]PORT like 8765, 127.0.0.1:8765, 0.0.0.0:8765 or [::1]:8765";

/**
 * Parse a `--view` value; `true` (the flag alone) is the default address. Errors name `flag`.
 */
export function parseViewAddress(value: string | true, flag = "--view"): ViewAddress {
  if (value === true) return { host: DEFAULT_VIEW_HOST, port: DEFAULT_VIEW_PORT };
  if (typeof value !== "string" || value.trim() === "") throw new FoveaInputError(flag, `${EXPECTED}; got ${JSON.stringify(value)}`);
  const text = value.trim();
  if (text.includes("://")) throw new FoveaInputError(flag, `${EXPECTED}; give the address without a scheme, got ${JSON.stringify(text)}`);
  let host = DEFAULT_VIEW_HOST;
  let portText = text;
  const bracketed = /^\[([^\]]+)\]:(.*)$/.exec(text);
  if (bracketed) {
    [host, portText] = [bracketed[1], bracketed[2]];
    if (net.isIPv6(host) === false) throw new FoveaInputError(flag, `${EXPECTED}; [${host}] is not an IPv6 address`);
  } else if (text.includes(":")) {
    const at = text.lastIndexOf(":");
    [host, portText] = [text.slice(0, at), text.slice(at + 1)];
    if (host.includes(":")) throw new FoveaInputError(flag, `${EXPECTED}; write an IPv6 host in brackets, got ${JSON.stringify(text)}`);
    if (host === "") throw new FoveaInputError(flag, `${EXPECTED}; the host before ':' is empty in ${JSON.stringify(text)}`);
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw new FoveaInputError(flag, `${EXPECTED}; port must be 0..65535, got ${JSON.stringify(portText)}`);
  }
  if (!bracketed && !net.isIP(host) && !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host)) {
    throw new FoveaInputError(flag, `${EXPECTED}; ${JSON.stringify(host)} is not an IP address or host name`);
  }
  return { host, port: Number(portText) };
}

/** True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === "localhost" || h === "::1") return true;
  if (net.isIPv4(h)) return h.startsWith("127.");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return mapped !== null && mapped[1].startsWith("127.");
}

/** `host:port` as a URL authority (IPv6 in brackets). */
export function formatAuthority(host: string, port: number): string {
  return `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
}
