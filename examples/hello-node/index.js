// A FunctionGraph Node.js event function: the event is the parsed JSON body of the invocation,
// the result is sent back as JSON. context.getUserData reads the function's environment variables.
exports.handler = async (event, context) => {
  const name = event.name || 'world'
  context.getLogger().info('greeting %s', name)
  return { message: `Hello, ${name}!`, stage: context.getUserData('STAGE') || 'none' }
}
