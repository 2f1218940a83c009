/**
 * @module templates: the built-in catalogue of function templates (hello world per runtime, HTTP
 * apps, timer, APIG and RabbitMQ functions) and app templates, for the template API, creating a
 * function or an application from one, and `strato init`.
 */
export { APP_TEMPLATES } from './app-templates.js'
export {
  FUNCTION_TEMPLATES,
  appTemplate,
  fileBytes,
  functionTemplate,
  templatePackage,
} from './template-catalogue.js'
export type {
  AppTemplate,
  AppTemplateFunction,
  AppTemplateParam,
  FunctionTemplate,
  TemplateFile,
  TemplateTrigger,
} from './template-types.js'
