# A tiny web app for fcm: listens on $PORT (8000), answers every request.
# Only Ruby's standard library (socket), so it deploys without a gem server.
require "socket"

port = Integer(ENV.fetch("PORT", "8000"))
message = "Hello from fcm!"
server = TCPServer.new("0.0.0.0", port)
$stdout.sync = true
puts "listening on 0.0.0.0:#{port}"

loop do
  client = server.accept
  Thread.new(client) do |c|
    begin
      # Read the request head; the answer is the same for every path.
      while (line = c.gets) && line != "\r\n"
      end
      body = "<!doctype html><title>fcm</title>\n<h1>#{message}</h1>\n" \
             "<p>Ruby app running on #{Socket.gethostname}.</p>\n"
      c.write "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n" \
              "Content-Length: #{body.bytesize}\r\nConnection: close\r\n\r\n#{body}"
    rescue StandardError => e
      warn "request failed: #{e}"
    ensure
      c.close
    end
  end
end
