import { Body, Controller, Get, HttpCode, NotFoundException, Param, Post, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import type { Response } from 'express';
import { Public } from '../auth/public.decorator';
import { DemoBundle } from './demo-bundle';
import { DemoFamilyService, DemoToken } from './demo-family.service';
import { DEMO_MEMBERS } from './demo-mode';
import type { DemoMember } from './demo-mode';

export class DemoTokenRequest {
  @IsIn(DEMO_MEMBERS, { message: `member must be one of ${DEMO_MEMBERS.join(', ')}` })
  member: DemoMember;
}

/** Development only (see demo-mode.ts): the demo page, its bundle, and tokens for the demo family. */
@ApiExcludeController()
@Public()
@Controller('demo')
export class DemoController {
  constructor(
    private readonly family: DemoFamilyService,
    private readonly bundle: DemoBundle,
  ) {}

  @Post('token')
  @HttpCode(200)
  token(@Body() body: DemoTokenRequest): Promise<DemoToken> {
    return this.family.mint(body.member);
  }

  @Get()
  page(@Res() res: Response): void {
    this.send(res, 'index.html');
  }

  @Get(':file')
  file(@Param('file') file: string, @Res() res: Response): void {
    this.send(res, file);
  }

  private send(res: Response, file: string): void {
    const path = this.bundle.path(file);
    if (path === undefined) throw new NotFoundException(`no demo file ${file}`);
    if (path === null) throw new ServiceUnavailableException('the demo is not built: run npm run build:demo');
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(path);
  }
}
