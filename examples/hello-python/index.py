# A FunctionGraph Python event function: the event is the parsed JSON body of the invocation, the
# result is sent back as JSON. context.getUserData reads the function's environment variables.


def handler(event, context):
    name = event.get("name") or "world"
    context.getLogger().info("greeting %s" % name)
    return {"message": "Hello, %s!" % name, "stage": context.getUserData("STAGE") or "none"}
