import { Injectable, RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { Router } from 'express';
import type { NextFunction, Request, Response } from 'express';
import { IS_PUBLIC } from './public.decorator';

export interface PublicRoute {
  method: string;
  path: string;
}

const PUBLIC_MATCH = Symbol('auth:publicMatch');

/**
 * The `@Public()` routes, read from the controllers' own metadata (decorator on the class
 * or the handler, controller and method paths), so that a route marked public is open before
 * the body parser exactly as it is open to the guard, with no list to keep in step.
 */
@Injectable()
export class PublicRoutes {
  private matcher?: Router;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  list(): PublicRoute[] {
    const routes: PublicRoute[] = [];
    for (const wrapper of this.discovery.getControllers()) {
      const type = wrapper.metatype as (new (...args: never[]) => object) | null;
      if (!type || !wrapper.instance) continue;
      const prototype = Object.getPrototypeOf(wrapper.instance) as Record<string, (...args: unknown[]) => unknown>;
      const classPaths = pathsOf(Reflect.getMetadata(PATH_METADATA, type));
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const handler = prototype[name];
        const methodPath = Reflect.getMetadata(PATH_METADATA, handler) as unknown;
        if (methodPath === undefined) continue;
        if (!this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [handler, type])) continue;
        const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod].toLowerCase();
        for (const classPath of classPaths) {
          for (const path of pathsOf(methodPath)) routes.push({ method, path: joinPaths(classPath, path) });
        }
      }
    }
    return routes;
  }

  /** Is `req` addressed to a public route? Matched by Express's own router, as Nest registers them. */
  matches(req: Request, res: Response): Promise<boolean> {
    // Express's router answers an unhandled OPTIONS itself (Allow header): not here.
    if (req.method === 'OPTIONS') return Promise.resolve(false);
    this.matcher ??= this.buildMatcher();
    const flagged = req as Request & { [PUBLIC_MATCH]?: boolean };
    return new Promise((resolve, reject) => {
      this.matcher!(req, res, (error?: unknown) => {
        if (error) reject(error instanceof Error ? error : new Error(String(error)));
        else resolve(flagged[PUBLIC_MATCH] === true);
      });
    });
  }

  private buildMatcher(): Router {
    const router = Router();
    const mark = (req: Request, _res: Response, next: NextFunction) => {
      (req as Request & { [PUBLIC_MATCH]?: boolean })[PUBLIC_MATCH] = true;
      next();
    };
    for (const { method, path } of this.list()) {
      const register = method === 'all' ? router.all.bind(router) : (router[method as 'get'] as Router['get']).bind(router);
      register(path, mark);
    }
    return router;
  }
}

function pathsOf(metadata: unknown): string[] {
  if (Array.isArray(metadata)) return metadata.map(String);
  return [typeof metadata === 'string' ? metadata : '/'];
}

function joinPaths(...segments: string[]): string {
  const joined = segments
    .map((s) => s.replace(/^\/+|\/+$/g, ''))
    .filter((s) => s !== '')
    .join('/');
  return `/${joined}`;
}
