import type { Request, RequestHandler, Response } from 'express';
import type { ApiVersion, ApiVersions } from '../versions/api-versions';
import { UnsupportedApiVersionError } from '../utils/errors';

export const API_VERSION_HEADER = 'Api-Version';

/**
 * Which version of the API a request is served at, in two steps around authentication:
 *  - `fromHeader`, first in the pipeline: an `Api-Version` header is checked at once (an unknown one is a
 *    400 listing the supported versions); without one the latest applies for now, so that every response,
 *    a malformed body's problem included, names a version;
 *  - `fromPin`, just before validation: a request that named no version and carries a credential is served
 *    at the caller's pinned version. The credential's principal is resolved here and kept for the security
 *    handlers, so a pinned request costs no more than another.
 * A deprecated version's every response carries `Deprecation`, `Sunset` and a `Link` to its changelog entry.
 */
export function createApiVersionResolution(deps: {
  versions: ApiVersions;
  /** The caller's pinned version, when the request carries a credential that resolves; never throws. */
  pinnedVersion: (req: Request) => Promise<string | undefined>;
  now?: () => number;
}): { fromHeader: RequestHandler; fromPin: RequestHandler } {
  const { versions, pinnedVersion } = deps;
  const now = deps.now ?? (() => Date.now());
  const latest = versions.get(versions.latest)!;

  const serveAt = (req: Request, res: Response, version: ApiVersion) => {
    req.apiVersion = version.name;
    res.setHeader(API_VERSION_HEADER, version.name);
    if (version.deprecatedAt && version.deprecatedAt.getTime() <= now()) {
      res.setHeader('Deprecation', `@${Math.floor(version.deprecatedAt.getTime() / 1000)}`);
      if (version.sunset) res.setHeader('Sunset', version.sunset.toUTCString());
      res.setHeader('Link', `</docs/changelog#${version.name}>; rel="deprecation"; type="text/html"`);
    }
  };

  return {
    fromHeader: (req, res, next) => {
      const requested = req.get(API_VERSION_HEADER);
      if (requested === undefined) {
        serveAt(req, res, latest);
        res.locals.apiVersionFromPin = true;
        next();
        return;
      }
      const version = versions.get(requested.trim());
      if (!version) {
        serveAt(req, res, latest);
        throw new UnsupportedApiVersionError(requested, versions.supported);
      }
      serveAt(req, res, version);
      next();
    },
    fromPin: (req, res, next) => {
      if (!res.locals.apiVersionFromPin) {
        next();
        return;
      }
      pinnedVersion(req).then((pinned) => {
        // A pin older than every supported version (its version was retired) is served at the oldest.
        if (pinned !== undefined && pinned !== versions.latest)
          serveAt(req, res, versions.get(versions.servedAt(pinned))!);
        next();
      }, next);
    },
  };
}
