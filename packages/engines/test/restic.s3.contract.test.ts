import { ResticEngine } from '@restic-manager/engines';
import { engineContract } from './contract/suite.js';

engineContract(() => new ResticEngine(), 's3');
