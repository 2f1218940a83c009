/**
 * @module App templates: a few functions (from the function templates) and their triggers,
 * created together as one function application, named from the app's `params`.
 */
import type { AppTemplate } from './template-types.js'

const APP_NAME_PARAM = {
  name: 'app_name',
  description: 'Prefix of the functions’ names (letters, digits, - and _; starts with a letter).',
  pattern: '^[A-Za-z][A-Za-z0-9_-]{0,40}$',
} as const

export const APP_TEMPLATES: readonly AppTemplate[] = [
  {
    id: '6a7e0b31-0001-4c2d-8f10-61706974696d',
    name: 'api-with-scheduled-job',
    description:
      'An API behind the gateway and a scheduled job beside it: two Node.js functions, an APIG trigger at /<app_name> and a timer every 5 minutes.',
    runtime: 'Node.js20.15',
    category: 'web',
    params: [
      APP_NAME_PARAM,
      {
        name: 'schedule',
        description: 'How often the job runs (a Rate schedule such as 5m or 1h).',
        default: '5m',
        pattern: '^[1-9][0-9]{0,3}[mhd]$',
      },
    ],
    functions: [
      {
        functionTemplate: 'apig-api',
        name: '${app_name}-api',
        description: 'The API of ${app_name}.',
        triggers: [
          {
            triggerName: '${app_name}-api',
            triggerType: 'APIG',
            eventType: 'APIG',
            eventData: {
              name: '${app_name}_api',
              path: '/${app_name}',
              protocol: 'HTTPS',
              req_method: 'ANY',
              auth: 'NONE',
              match_mode: 'SWA',
              env_name: 'RELEASE',
              type: 1,
              group_id: 'strato',
              func_info: { timeout: 5000 },
            },
          },
        ],
      },
      {
        functionTemplate: 'timer-job',
        name: '${app_name}-job',
        description: 'The scheduled job of ${app_name}.',
        triggers: [
          {
            triggerName: '${app_name}-schedule',
            triggerType: 'TIMER',
            eventType: 'TIMER',
            eventData: {
              name: '${app_name}-schedule',
              schedule_type: 'Rate',
              schedule: '${schedule}',
              user_event: '${app_name}',
            },
          },
        ],
      },
    ],
    guide:
      'Call the API at the gateway’s /<app_name>; the job runs on its schedule and logs each run. Delete the application to delete both functions and their triggers.',
  },
  {
    id: '6a7e0b31-0002-4c2d-8f10-776562617070',
    name: 'web-app',
    description: 'An Express-style web app as one HTTP function (mini-express.js, not Express).',
    runtime: 'http',
    category: 'web',
    params: [APP_NAME_PARAM],
    functions: [
      {
        functionTemplate: 'http-express-style',
        name: '${app_name}-web',
        description: 'The web app ${app_name}.',
        triggers: [],
      },
    ],
    guide: 'Invoke <app_name>-web with an APIG-style event, or put an APIG trigger in front of it.',
  },
]
