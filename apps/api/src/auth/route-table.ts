import { Injectable, RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { Router } from 'express';
import type { NextFunction, Request, Response } from 'express';
import { IS_PUBLIC } from './public.decorator';

export interface RouteEntry {
  method: string;
  path: string;
  isPublic: boolean;
}

/** `public`: @Public(); `guarded`: needs a token; `unknown`: no controller handles it (404). */
export type RouteKind = 'public' | 'guarded' | 'unknown';

const KIND = Symbol('auth:routeKind');

/**
 * The controllers' routes and whether each is `@Public()`, read from their own metadata
 * (decorator on the class or the handler, controller and method paths), so that a route is
 * open before the body parser exactly when it is open to the guard, with no list to keep in
 * step. Requests are matched by Express's own router, with the paths as Nest registers them.
 */
@Injectable()
export class RouteTable {
  private matcher?: Router;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  list(): RouteEntry[] {
    const routes: RouteEntry[] = [];
    for (const wrapper of this.discovery.getControllers()) {
      const type = wrapper.metatype as (new (...args: never[]) => object) | null;
      if (!type || !wrapper.instance) continue;
      const prototype = Object.getPrototypeOf(wrapper.instance) as Record<string, (...args: unknown[]) => unknown>;
      const classPaths = pathsOf(Reflect.getMetadata(PATH_METADATA, type));
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const handler = prototype[name];
        if (!handler) continue;
        const methodPath = Reflect.getMetadata(PATH_METADATA, handler) as unknown;
        if (methodPath === undefined) continue;
        const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [handler, type]) === true;
        const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod].toLowerCase();
        for (const classPath of classPaths) {
          for (const path of pathsOf(methodPath)) routes.push({ method, path: joinPaths(classPath, path), isPublic });
        }
      }
    }
    return routes;
  }

  kindOf(req: Request, res: Response): Promise<RouteKind> {
    // Express's router answers an unhandled OPTIONS itself (Allow header): not here.
    if (req.method === 'OPTIONS') return Promise.resolve('guarded');
    this.matcher ??= this.buildMatcher();
    const marked = req as Request & { [KIND]?: RouteKind };
    return new Promise((resolve, reject) => {
      this.matcher!(req, res, (error?: unknown) => {
        if (error) reject(error instanceof Error ? error : new Error(String(error)));
        else resolve(marked[KIND] ?? 'unknown');
      });
    });
  }

  private buildMatcher(): Router {
    const router = Router();
    for (const { method, path, isPublic } of this.list()) {
      // The first matching route is the one Nest runs: it decides.
      const mark = (req: Request, _res: Response, next: NextFunction) => {
        (req as Request & { [KIND]?: RouteKind })[KIND] ??= isPublic ? 'public' : 'guarded';
        next();
      };
      router.route(path)[method as 'get' | 'all'](mark);
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
