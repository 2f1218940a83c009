// An ordinary Express app, unchanged from how it runs locally (`node app.js`). As an HTTP
// function it listens on port 8000, where Strato sends each invocation as an HTTP request.
const express = require('express')

const app = express()
app.use(express.json())
app.get('/hello/:name', (req, res) => {
  res.json({ hello: req.params.name, requestId: req.get('x-cff-request-id') })
})
app.post('/echo', (req, res) => res.json(req.body))
app.listen(8000, '127.0.0.1', () => console.log('express listening on 8000'))
