# Freeze the sampler thread for 1.5 s just before it queues a sample (after it saw the main
# thread hold the GIL), once the program has written its marker file; the other threads run on.
set pagination off
set non-stop on
set breakpoint pending on
python
import os, threading
frozen = [False]
marker = os.environ["RACE_MARKER"]
def release(num):
    def go():
        gdb.execute("thread %d" % num)
        gdb.execute("continue &")
    gdb.post_event(go)
end
break PyThread_acquire_lock if $_caller_is("request_sample")
commands
  silent
  python
if os.path.exists(marker) and not frozen[0]:
    frozen[0] = True
    print("frozen")
    threading.Timer(1.5, release, args=(gdb.selected_thread().num,)).start()
else:
    gdb.execute("continue &")
  end
end
run &
